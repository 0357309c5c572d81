# The pessoas image: `pessoas serve|worker|migrate` (compose.yaml runs each).
# Two stages: the build stage installs the project into a venv, the runtime stage copies it.

FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from the lock: serving's install set only, every version pinned and every
# file checked against its hash (their layer is reused while only src/ changes).
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes --only-binary=:all: -r requirements/base.txt

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . && rm -rf build

FROM python:3.11.10-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 pessoas \
    && useradd --system --uid 10001 --gid pessoas --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin pessoas
COPY --from=build /opt/venv /opt/venv

USER pessoas:pessoas
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["pessoas"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
