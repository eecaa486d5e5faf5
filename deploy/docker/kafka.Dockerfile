# Apache Kafka (KRaft) for docker compose: the same broker jars that deploy/local/pom.xml pins, fetched
# from Maven Central on the host, on a Java runtime. No Kafka tarball, no third-party Kafka image.
#   deploy/tools/prepare-image-inputs.sh         # copies the jars into deploy/docker/kafka-libs/
#   DOCKER_BUILDKIT=0 docker build --network none -f deploy/docker/kafka.Dockerfile -t agora-kafka:4.4.0 .
# Settings come from the environment (see kafka-entrypoint.sh): KAFKA_CFG_<NAME>=value becomes
# <name>=value in server.properties (lower case, '_' -> '.').

# The base is pinned by tag; pin a digest too in your registry. Kafka 4.x brokers need Java 17 or newer.
ARG JRE_IMAGE=eclipse-temurin:17.0.16_8-jre-jammy

FROM ${JRE_IMAGE}
LABEL org.opencontainers.image.title="agora-kafka" \
      org.opencontainers.image.description="Apache Kafka broker (KRaft) from Maven Central jars" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY deploy/docker/kafka-libs/ /opt/kafka/libs/
COPY deploy/docker/kafka-log4j2.properties /opt/kafka/config/log4j2.properties
COPY deploy/docker/kafka-entrypoint.sh /opt/kafka/bin/kafka-entrypoint.sh
RUN mkdir -p /var/lib/kafka/data \
    && chown -R 10001:10001 /var/lib/kafka \
    && java -version
ENV KAFKA_DATA_DIR=/var/lib/kafka/data \
    KAFKA_HEAP_OPTS="-Xms256m -Xmx512m"
USER 10001:10001
VOLUME ["/var/lib/kafka/data"]
EXPOSE 9092 9093
ENTRYPOINT ["/opt/kafka/bin/kafka-entrypoint.sh"]
