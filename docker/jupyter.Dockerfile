# JupyterLab with what the kit needs besides Python packages: Java 17, Maven, make.
# The kit itself is mounted at /kit by docker-compose and installed at start.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven make git procps \
 && rm -rf /var/lib/apt/lists/*
# JAVA_HOME from wherever Debian put the JDK (its folder name carries the CPU architecture).
RUN ln -sfn "$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")" /opt/java-home \
 && mkdir -p /opt/venv /tmp/home && chmod 0777 /opt/venv /tmp/home
ENV JAVA_HOME=/opt/java-home
WORKDIR /kit
