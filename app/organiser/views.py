"""Console pages. Thin: check the organiser's role, call one domain function, commit, redirect."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import organisers, signatories
from app.db import db
from app.organiser import bp


@bp.get("/")
def home() -> str:
    letters = organisers.letters_of(db.session, current_user)
    counts = {letter.id: signatories.count_verified(db.session, letter) for letter, _ in letters}
    return render_template("organiser/home.html", letters=letters, counts=counts)
