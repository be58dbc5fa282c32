"""Console edge cases: anonymous posts, affiliation renames, the last owner, erasure in the log,
big uploads and cells, odd table parameters, one-time codes and copied sessions."""

from __future__ import annotations

import io
import re

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import limiter
from app.models import AuditEvent, LetterOrganiser, OrganiserRole, Signature, SignatureState
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in

HEADER = "name,email,affiliation,title,country\n"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def test_anonymous_posts_with_a_valid_form_token_still_go_to_sign_in(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="gate")
    signature = make_signature(session, letter=letter)
    token = csrf_token(client, "/admin/login")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "POST" not in (rule.methods or ()):
            continue
        if rule.endpoint in {"organiser.login", "organiser.login_code"}:
            continue
        url = rule.rule.replace("<slug>", "gate").replace("<int:signature_id>", str(signature.id))
        url = url.replace("<int:organiser_id>", "1").replace("<int:organisation_id>", "1")
        url = url.replace("<int:affiliation_id>", "1").replace("<int:invitation_id>", "1")
        url = url.replace("<int:update_id>", "1").replace("<int:response_id>", "1")
        url = url.replace("<language>", "fr")
        data = {"csrf_token": token, "action": "hide", "reason": "x", "ids": [str(signature.id)]}
        response = client.post(url, data=data)
        assert response.status_code == 302, (rule.endpoint, response.status_code)
        assert "/admin/login" in response.headers["Location"]
    session.refresh(signature)
    assert signature.state is SignatureState.VERIFIED


def test_renaming_an_affiliation_on_one_letter_leaves_other_letters_alone(
    client: FlaskClient, session
) -> None:
    mine, theirs = make_letter(session, slug="mine"), make_letter(session, slug="theirs")
    kept = make_signature(session, letter=mine, affiliation="Harvard University")
    variant = make_signature(session, letter=mine, affiliation="Harvard")
    other = make_signature(session, letter=theirs, affiliation="Harvard University")
    moderator = make_organiser(session, letters={mine: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    token = csrf_token(client, "/admin/letters/mine/affiliations")
    response = client.post(
        "/admin/letters/mine/affiliations/merge",
        data={
            "csrf_token": token,
            "target": str(kept.affiliation_id),
            "ids": [str(variant.affiliation_id)],
            "name": "Fake Uni",
        },
    )
    assert response.status_code == 303
    session.refresh(kept)
    session.refresh(other)
    assert kept.affiliation.name == "Fake Uni"
    assert other.affiliation.name == "Harvard University"
    assert "Fake Uni" not in client.get("/letters/theirs/signatories").get_data(as_text=True)


def test_correcting_the_case_of_an_affiliation_renames_it_for_the_letter(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="case")
    first = make_signature(session, letter=letter, affiliation="mit")
    second = make_signature(session, letter=letter, affiliation="M.I.T.")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    url = f"/admin/letters/case/signatures/{first.id}"
    client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "name": first.name, "title": first.title,
              "affiliation": "MIT", "country": "GB", "notable_context": ""},
    )  # fmt: skip
    session.refresh(second)
    assert second.affiliation.name == "MIT"


def test_the_last_owner_cannot_demote_themselves(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="solo")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    token = csrf_token(client, "/admin/letters/solo/team")
    response = client.post(
        "/admin/letters/solo/team",
        data={"csrf_token": token, "email": owner.email, "role": "viewer"},
    )
    assert response.status_code == 422
    assert "at least one owner" in response.get_data(as_text=True)
    role = session.scalars(select(LetterOrganiser.role)).one()
    assert role is OrganiserRole.OWNER


def test_erasing_a_signature_scrubs_it_from_earlier_log_entries(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="erase")
    signature = make_signature(session, letter=letter, name="Secret Name")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    url = f"/admin/letters/erase/signatures/{signature.id}"
    client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "name": "Secret Name Corrected",
              "title": "x", "affiliation": "y", "country": "GB", "notable_context": ""},
    )  # fmt: skip
    token = csrf_token(client, "/admin/letters/erase/signatures")
    client.post(
        "/admin/letters/erase/signatures/act",
        data={"csrf_token": token, "action": "delete", "ids": [str(signature.id)]},
    )
    log = client.get("/admin/letters/erase/audit").get_data(as_text=True)
    assert "Secret Name" not in log
    assert "[erased]" in log
    actions = {e.action for e in session.scalars(select(AuditEvent))}
    assert {"signature.correct", "signatures.delete"} <= actions


def test_an_upload_bigger_than_a_form_post_is_imported(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="big")
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    rows = "".join(
        f"Person {n},p{n}@example.org,Institute {n % 50},Researcher,GB\n" for n in range(3000)
    )
    content = (HEADER + rows).encode()
    assert len(content) > 64 * 1024
    token = csrf_token(client, "/admin/letters/big/import")
    response = client.post(
        "/admin/letters/big/import",
        data={
            "csrf_token": token,
            "verified": "y",
            "file": (io.BytesIO(content), "big.csv"),
            "source": "A previous site",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert session.scalar(select(func.count()).select_from(Signature)) == 3000


def test_a_huge_cell_is_a_line_problem_not_a_crash(runner, session, tmp_path) -> None:
    make_letter(session, slug="huge-cell")
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + "A," + "x" * 200_000 + "@example.org,X,Y,GB\n", encoding="utf-8")
    result = runner.invoke(args=["signatures", "import", "huge-cell", str(path)])
    assert result.exit_code == 1
    assert "not readable as CSV" in result.output
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("name,name,email,affiliation,title,country\n", encoding="utf-8")
    result = runner.invoke(args=["signatures", "import", "huge-cell", str(repeated)])
    assert "repeated column(s): name" in result.output


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("until=9999-12-31", 400),  # beyond the year 9000
        ("format=x", 200),  # not the table's: ignored
        ("slug=x", 200),
        ("_method=POST", 200),
        ("cursor=" + "WyJuZXdlc3QiLCJceDAwIiwxXQ", 400),  # a NUL inside a well-formed cursor
    ],
)
def test_odd_table_parameters_never_crash(
    client: FlaskClient, session, query: str, expected: int
) -> None:
    letter = make_letter(session, slug="odd")
    make_signature(session, letter=letter)
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    response = client.get(f"/admin/letters/odd/signatures?{query}")
    assert response.status_code == expected


def test_a_superscript_rank_is_a_400(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="ranks")
    notable = make_signature(session, letter=letter)
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    token = csrf_token(client, "/admin/letters/ranks/signatures")
    response = client.post(
        "/admin/letters/ranks/notables/order",
        data={"csrf_token": token, f"rank-{notable.id}": "²"},
    )
    assert response.status_code == 400


def test_admin_addresses_with_a_nul_or_a_huge_id_are_404(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="bounds")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    assert client.get("/admin/letters/a%00/signatures").status_code == 404
    assert client.get(f"/admin/letters/bounds/signatures/{2**40}").status_code == 404


def test_every_console_post_with_an_id_no_row_can_have_is_404(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="huge-ids")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER}, is_superuser=True)
    log_in(client, owner.email)
    token = csrf_token(client, "/admin/")
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:\w+>", str(2**40), rule.rule.replace("<slug>", "huge-ids"))
        method = "POST" if "POST" in (rule.methods or ()) else "GET"
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (rule.rule, response.status_code)
        checked.append(rule.endpoint)
    assert {"organiser.resend_invitation", "organiser.send_response"} <= set(checked)


def test_a_two_factor_code_works_once(client: FlaskClient, session) -> None:
    from app.accounts import organisers

    organiser = make_organiser(session)
    secret = organisers.new_totp_secret()
    organiser.totp_secret = secret
    session.commit()
    code = pyotp.TOTP(secret).at(utcnow())

    def sign_in_with(code: str) -> int:
        log_in(client, organiser.email)
        token = csrf_token(client, "/admin/login/code")
        return client.post(
            "/admin/login/code", data={"csrf_token": token, "code": code}
        ).status_code

    assert sign_in_with(code) == 303
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert sign_in_with(code) == 200  # the same code again: refused


def test_signing_out_ends_a_copied_session(app: Flask, client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    log_in(client, organiser.email)
    with client.session_transaction() as stolen:
        copied = dict(stolen)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    thief = app.test_client()
    with thief.session_transaction() as planted:
        planted.update(copied)
    assert thief.get("/admin/").status_code == 302


def test_sign_ins_and_account_changes_are_in_the_account_log(
    client: FlaskClient, session, runner
) -> None:
    runner.invoke(
        args=["organisers", "create", "root@campaign.example", "--password-stdin", "--superuser"],
        input="a long enough passphrase\n",
    )
    log_in(client, "root@campaign.example", "a long enough passphrase")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "account.create" in page and "account.sign_in" in page
    plain = make_organiser(session)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    log_in(client, plain.email)
    assert client.get("/admin/audit").status_code == 404
