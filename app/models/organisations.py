"""The registry of organisations every letter shares, their email domains, and the ones
a letter watches."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, db, utcnow
from app.models.base import AFFILIATION_MAX, DOMAIN_MAX, stored_enum


class Sector(enum.Enum):
    """What kind of organisation: how journalists read a list ("hundreds of academics")."""

    ACADEMIA = "academia"
    INDUSTRY = "industry"
    CIVIL_SOCIETY = "civil_society"
    GOVERNMENT = "government"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Organisation(db.Model):  # type: ignore[name-defined]
    """An organisation in the registry every letter shares, with the email domains its people
    write from: a signer confirming from one of them has a verified affiliation."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(AFFILIATION_MAX))
    #: The folded name (affiliations' key): re-importing "University of Oxford" finds this row.
    key: Mapped[str] = mapped_column(String(AFFILIATION_MAX), unique=True)
    sector: Mapped[Sector] = mapped_column(stored_enum(Sector, "sector"), default=Sector.OTHER)
    #: ISO 3166-1 alpha-2 code, if the organisation has one country.
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    domains: Mapped[list[OrganisationDomain]] = relationship(
        cascade="all, delete-orphan",
        order_by="OrganisationDomain.domain",
        lazy="selectin",
        back_populates="organisation",
    )
    aliases: Mapped[list[OrganisationAlias]] = relationship(
        cascade="all, delete-orphan",
        order_by="OrganisationAlias.name",
        lazy="selectin",
        back_populates="organisation",
    )

    @property
    def alias_names(self) -> list[str]:
        return [alias.name for alias in self.aliases]

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r}>"


class OrganisationDomain(db.Model):  # type: ignore[name-defined]
    """An email domain of one organisation; its subdomains count as its own."""

    __tablename__ = "organisation_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    #: Lower-case ASCII (IDNA); never a free-mail or disposable domain.
    domain: Mapped[str] = mapped_column(String(DOMAIN_MAX), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="domains")


class OrganisationAlias(db.Model):  # type: ignore[name-defined]
    """Another name of one organisation: an acronym ("MIT"), its name in another language
    ("Université de Genève"), a former name. An affiliation typed this way stands for it.

    A folded name belongs to one organisation only, whether as its name or as an alias: the
    key is unique here, and registry.py refuses an alias that is another organisation's name
    (and a name that is another's alias)."""

    __tablename__ = "organisation_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(AFFILIATION_MAX))
    #: Folded as Organisation.key (and affiliations' keys) are.
    key: Mapped[str] = mapped_column(String(AFFILIATION_MAX), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="aliases")


class WatchedOrganisation(db.Model):  # type: ignore[name-defined]
    """An organisation a letter's organisers watch: the breakdown shows it even at zero."""

    __tablename__ = "watched_organisations"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
