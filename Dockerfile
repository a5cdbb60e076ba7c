# Dockyard's own image, used by docker-compose.yml for the web and worker services.
FROM python:3.11-slim AS deps
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --prefix=/install -r requirements.lock

FROM python:3.11-slim
# The worker drives BuildKit builds through Debian's docker CLI (docker-py cannot drive BuildKit).
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker.io \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 dockyard
COPY --from=deps /install /usr/local
WORKDIR /app
COPY . .
RUN DEBUG=true python manage.py collectstatic --noinput
USER dockyard
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "tutorial.asgi:application"]
