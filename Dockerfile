# One image for every role: `kesher serve` (default), `kesher worker`, `kesher scheduler`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt hashes.txt README.md ./
COPY app ./app
COPY bot ./bot
COPY flows ./flows
COPY integrations ./integrations
COPY storage ./storage
# A virtual environment, so that the hash-checked wheels count as installed for the second step.
RUN python -m venv /opt/kesher \
    && /opt/kesher/bin/pip install --no-cache-dir --no-deps --require-hashes -r hashes.txt \
    && /opt/kesher/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# A font with Hebrew letters for the weekly digest's PDF (KESHER_PDF_FONT).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 kesher
COPY --from=build /opt/kesher /opt/kesher
ENV PATH=/opt/kesher/bin:$PATH
USER kesher
WORKDIR /home/kesher
EXPOSE 8000
# Every long-running role (serve, worker, scheduler) beats a heartbeat of its own, which
# `kesher health` checks: the same probe fits each role, including those that listen on no port.
# docker-compose.yml adds the web role's HTTP check and turns the probe off for the migrate job.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s CMD ["kesher", "health"]
ENTRYPOINT ["kesher"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
