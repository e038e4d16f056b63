# The avm service image (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
COPY eventstore ./eventstore
COPY migrations ./migrations
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["avm", "serve", "--host", "0.0.0.0", "--port", "8000"]
