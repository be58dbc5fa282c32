"""The layout's rules, checked: the audiences and commands stay thin over the domain."""

from __future__ import annotations

import ast

from config import PROJECT_ROOT

EDGES = ["app/public", "app/organiser", "app/api", "app/cli.py"]


def _modules(path: str) -> list:
    target = PROJECT_ROOT / path
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def test_no_view_or_command_writes_the_audit_log() -> None:
    """Every operation that changes a letter, a signature or an account records its own entry;
    a view or command that wrote one would be a caller that could also forget to."""
    writers = []
    for path in EDGES:
        for module in _modules(path):
            for node in ast.walk(ast.parse(module.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in {"record", "forget"}
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "audit"
                ):
                    writers.append(f"{module.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert writers == []


def test_the_domain_never_reaches_for_flask_globals() -> None:
    """Domain packages take a session and plain values; request, g, current_app and session
    belong to the audiences."""
    domain = [
        "signing",
        "letters",
        "signatories",
        "affiliations",
        "organisations",
        "moderation",
        "accounts",
        "mail",
    ]
    found = []
    for package in domain:
        for module in _modules(f"app/{package}"):
            tree = ast.parse(module.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] in {"flask", "flask_login", "flask_wtf"}:
                        found.append(f"{module.relative_to(PROJECT_ROOT)}: {name}")
    assert found == []
