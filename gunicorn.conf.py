"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_CMD_ARGS, or the variables below)
without editing this file. The benchmarks (`make bench`) run both Undersigned and the "hello"
baseline with exactly these settings, so the figures in docs/PERFORMANCE.md hold for them.
"""

import multiprocessing
import os

#: Where to listen. Behind a load balancer or reverse proxy, usually a private address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

#: Sync workers: one request at a time per process, no event loop, no threads. Every request
#: here is short (a few milliseconds of Python and PostgreSQL), so processes give the most
#: requests per core and the least surprise; slow clients are the reverse proxy's business
#: (nginx or the load balancer buffers requests and responses, see docs/DEPLOY.md).
worker_class = "sync"

#: (2 x cores) + 1: while one worker waits on PostgreSQL or Redis, another uses the core.
#: Each worker holds at most one database connection at a time, so N nodes need
#: N x workers (+ mail workers) connections: keep that under PostgreSQL's max_connections,
#: or put PgBouncer in between.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))

#: Connections waiting for a free worker during a surge. The kernel caps it at
#: net.core.somaxconn; beyond it clients see refusals, which the proxy retries or queues.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))

#: A worker stuck this long (a database that stopped answering) is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
#: On a deploy or SIGTERM, requests in flight get this long to finish.
graceful_timeout = 30
#: Sync workers close each connection after its response; the proxy keeps its own alive.
keepalive = 2

#: Each worker is replaced after about this many requests, spread out by the jitter so that
#: they do not all restart at once: a bound on any slow memory growth, at no cost in between.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10

#: Load the app in each worker, not once in the master: no database connection or Redis
#: client is ever shared across a fork, and a deploy restarts workers one by one.
preload_app = False

#: Request line and headers are small here; anything bigger is refused before Flask sees it.
limit_request_line = 8190
limit_request_fields = 100

#: Access logs are the proxy's job; error logs go to stderr for the service manager.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

#: Behind a proxy on the same host or network, trust its X-Forwarded-* headers; the app's own
#: ProxyFix (PROXY_HOPS) decides how many hops to believe.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
#: gunicorn would take SCRIPT_NAME and PATH_INFO from headers a peer in forwarded_allow_ips
#: sends: a request from the machine itself then set every link of a cached page to another
#: site. The app's address is BASE_URL's (app/support/public_address.py); no header sets it.
forwarder_headers = ""
