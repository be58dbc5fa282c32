"""The stored things, one module per part of the campaign; everything is importable from here.

- letters: letters and the versions of their text
- signatures: signatures, the affiliations signers name, notables' evidence, the kept counts
- organisations: the shared registry of organisations, their email domains, watch-lists
- accounts: organisers, their roles on letters, the audit log
- invitations: founding signatories invited before a launch
- news: organisers' updates to signers, addressees' responses
- access: the links to everything one address signed
- mail: the outbox
- base: field bounds shared with the forms, and how enums are stored
"""

from app.models.access import SignerAccess
from app.models.accounts import AuditEvent, LetterOrganiser, Organiser, OrganiserRole
from app.models.base import (
    AFFILIATION_MAX,
    COMMENT_MAX,
    DOMAIN_MAX,
    EMAIL_MAX,
    LETTER_TITLE_MAX,
    NAME_MAX,
    NOTABLE_CONTEXT_MAX,
    SLUG_MAX,
    SNAPSHOT_NOTE_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    UPDATE_SUBJECT_MAX,
    URL_MAX,
)
from app.models.invitations import Invitation
from app.models.letters import Letter, LetterStatus, LetterTranslation, LetterVersion, Snapshot
from app.models.mail import EmailStatus, OutboundEmail
from app.models.news import AddresseeResponse, LetterUpdate
from app.models.organisations import (
    Organisation,
    OrganisationAlias,
    OrganisationDomain,
    Sector,
    WatchedOrganisation,
)
from app.models.signatures import (
    COUNT_SHARDS,
    PUBLICLY_COUNTED,
    Affiliation,
    EvidenceMethod,
    NotableEvidence,
    Signature,
    SignatureCount,
    SignatureState,
    SignatureTally,
)

__all__ = [
    "AFFILIATION_MAX",
    "COMMENT_MAX",
    "COUNT_SHARDS",
    "DOMAIN_MAX",
    "EMAIL_MAX",
    "LETTER_TITLE_MAX",
    "NAME_MAX",
    "NOTABLE_CONTEXT_MAX",
    "PUBLICLY_COUNTED",
    "SLUG_MAX",
    "SNAPSHOT_NOTE_MAX",
    "SOURCE_MAX",
    "TITLE_MAX",
    "UPDATE_SUBJECT_MAX",
    "URL_MAX",
    "AddresseeResponse",
    "Affiliation",
    "AuditEvent",
    "EmailStatus",
    "EvidenceMethod",
    "Invitation",
    "Letter",
    "LetterOrganiser",
    "LetterStatus",
    "LetterTranslation",
    "LetterUpdate",
    "LetterVersion",
    "NotableEvidence",
    "Organisation",
    "OrganisationAlias",
    "OrganisationDomain",
    "Organiser",
    "OrganiserRole",
    "OutboundEmail",
    "Sector",
    "Signature",
    "SignatureCount",
    "SignatureState",
    "SignatureTally",
    "SignerAccess",
    "Snapshot",
    "WatchedOrganisation",
]
