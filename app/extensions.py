"""Flask extensions, created unbound and attached to the app in create_app()."""

from flask import current_app
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.signing.defences import client_hash


def limit_key(value: str) -> str:
    """What a rate limit counts under: the keyed hash the database keeps of addresses, so the
    limiter's storage (Redis) never holds a signer's address or an organiser's email."""
    return client_hash(current_app.config["SECRET_KEY"], value) or "-"


def client_key() -> str:
    """The client address, hashed: the key of every limit that counts per address."""
    return limit_key(get_remote_address())


csrf = CSRFProtect()
#: Any site may read the API and the open-data files from a browser; nothing that writes.
cors = CORS(
    resources={
        r"/api/*": {"origins": "*", "methods": ["GET", "HEAD"]},
        r"/letters/[^/]+/signatories\.(csv|json)": {"origins": "*", "methods": ["GET", "HEAD"]},
    },
    send_wildcard=True,
    vary_header=False,
)
migrate = Migrate()
limiter = Limiter(key_func=client_key)
login_manager = LoginManager()
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "strong"


def _check_limit() -> str:
    return str(current_app.config["CHECK_RATE_LIMIT"])


#: "Check a list", on its page and in the API: one budget per client for both, as documented
#: (each had its own, which doubled it).
check_budget = limiter.shared_limit(_check_limit, scope="check-a-list", methods=["POST"])
