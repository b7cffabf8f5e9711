# syntax=docker/dockerfile:1
# The Rasa server: bot/ (channels, NLU components, policies), the project's Rasa files and
# one trained model, on the assistant's locked environment (requirements/bot.lock).
# Built from the repository root after `make train` (docs/deploy.md):
#
#   MODEL=models/$(basename "$(.venv/bin/python scripts/train_model.py --path)")
#   docker build -f deploy/docker/bot.Dockerfile --build-arg MODEL=$MODEL -t travelchat/bot:0.1.0 .
#
# The image carries its model (one image = one code + model pair, the same on every
# replica); a new model is a new image and a rolling update.

ARG PYTHON=3.10

FROM python:${PYTHON}-slim-bookworm AS environment
ENV VIRTUAL_ENV=/opt/venv PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# uv, pinned as in the Makefile; `uv pip sync` installs exactly the lock file.
RUN pip install uv==0.13.8 && uv venv --python "$(command -v python)" /opt/venv
COPY requirements/bot.lock /tmp/bot.lock
RUN uv pip sync --no-cache /tmp/bot.lock

FROM python:${PYTHON}-slim-bookworm
ARG MODEL
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home app
COPY --from=environment /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app
COPY servicekit.py config.yml domain.yml endpoints.yml credentials.yml ./
COPY deploy/endpoints.scale.yml deploy/
COPY bot/ bot/
COPY data/ data/
COPY ${MODEL} models/
# var/: the WeChat access-token file cache when it is not in Redis (credentials.yml).
RUN mkdir -p var && chown app:app var
USER 10001:10001
EXPOSE 5005
ENTRYPOINT ["python", "-m", "bot.serve"]
CMD ["run", "--enable-api", "--port", "5005", "--model", "models", \
     "--credentials", "credentials.yml", "--endpoints", "deploy/endpoints.scale.yml"]
