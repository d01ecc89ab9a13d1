# poller: the ACE (Partner Central) → HubSpot notification job.
#
#   docker build -t poller .
#   docker run --rm -v poller-state:/app/state --env-file poller.env poller              # one cycle (cron, ECS)
#   docker run -d  -v poller-state:/app/state --env-file poller.env poller daemon --every 5m
#   docker run --rm --env-file poller.env poller config check                            # before the first run
#
# With a scheduler inside the container instead: add supercronic (a cron for containers; take the current release
# URL and SHA-1 from https://github.com/aptible/supercronic/releases) and run the crontab shipped here:
#   RUN curl -fsSLo /usr/local/bin/supercronic "$SUPERCRONIC_URL" \
#       && echo "$SUPERCRONIC_SHA1SUM  /usr/local/bin/supercronic" | sha1sum -c - && chmod +x /usr/local/bin/supercronic
#   docker run -d -v poller-state:/app/state --env-file poller.env --entrypoint supercronic poller /app/crontab
#
# Settings come from the environment (HUBSPOT_ACCESS_TOKEN, POLLER_CATALOG, POLLER_FALLBACK_OWNER_ID, …) or a
# poller.toml mounted at /app/poller.toml; AWS credentials from the task role or the usual AWS_* variables.
#
# Stopping: `poller` runs as PID 1 with no init, by design: it handles SIGTERM, SIGINT and SIGHUP itself (run, daemon
# and backfill stop before their next API request, drop the page being read, release the lease, exit 0), and it
# starts no child processes to reap. `docker run --init` is harmless but not needed. It usually stops within a
# second; at worst after one request timeout (POLLER_HTTP_TIMEOUT, 30 s): give it that, e.g. `docker stop -t 45`
# or an ECS container `stopTimeout` of 45.
#
# Personal data: the state database holds names and emails. poller creates it 0600 (and its -wal/-shm files), and
# any folder it creates 0700, whatever the umask; the state folder below is 0700 and owned by the poller user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POLLER_DB=/app/state/poller.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY poller ./poller
RUN pip install --no-cache-dir . && cd / && rm -rf /src

WORKDIR /app
COPY crontab poller.example.toml ./

# A non-root user owns only the state directory, which lives on a volume (EFS on ECS, or a named volume).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin poller \
    && mkdir -p /app/state && chown poller:poller /app/state && chmod 700 /app/state
USER poller
VOLUME ["/app/state"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["poller"]
CMD ["run"]
