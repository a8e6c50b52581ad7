# JupyterLab with what the kit needs besides Python packages: Java 17, Maven, make.
# The kit itself is mounted at /kit by docker-compose and installed at start.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven make git procps \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
WORKDIR /kit
