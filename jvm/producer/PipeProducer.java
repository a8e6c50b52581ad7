package etlkit;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * data_gen's fast path into Kafka: records arrive framed on standard input and
 * leave through Kafka's own Java producer, so the Python process that simulates
 * the world only serializes.
 *
 * <p>Usage: {@code java -cp <this jar>:<kafka-clients> etlkit.PipeProducer PROPERTIES TOPIC...}.
 * PROPERTIES is a producer configuration file; the topics are numbered in the
 * order given. Each record on standard input is one frame, big-endian:
 * topic number (1 byte), key length (4 bytes, -1 for no key), key, value length
 * (4 bytes), value. The key decides the partition exactly as kafka-python's
 * default partitioner does (murmur2 of the key bytes, modulo the partitions).
 *
 * <p>At the end of the input the producer flushes and closes, then prints one
 * JSON line: records handed over per topic, how many failed, the first error.
 * A malformed frame or an exception ends it with exit code 2 and the same line.
 */
public final class PipeProducer {
    private PipeProducer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: PipeProducer PROPERTIES TOPIC...");
            System.exit(64);
        }
        Properties props = new Properties();
        try (Reader r = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) {
            props.load(r);
        }
        String[] topics = Arrays.copyOfRange(args, 1, args.length);
        long[] sent = new long[topics.length];
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        Callback onDone = (metadata, error) -> {
            if (error != null) {
                failed.incrementAndGet();
                firstError.compareAndSet(null, error.getClass().getSimpleName() + ": " + error.getMessage());
            }
        };
        int status = 0;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 20));
             KafkaProducer<byte[], byte[]> producer =
                     new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            try {
                while (true) {
                    int topic = in.read();
                    if (topic < 0) {
                        break;
                    }
                    if (topic >= topics.length) {
                        throw new IllegalArgumentException("frame names topic number " + topic + " of " + topics.length);
                    }
                    byte[] key = readBytes(in, true);
                    byte[] value = readBytes(in, false);
                    producer.send(new ProducerRecord<>(topics[topic], key, value), onDone);
                    sent[topic]++;
                }
                producer.flush();
            } catch (RuntimeException | EOFException e) {
                firstError.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
                status = 2;
            }
        }
        StringBuilder out = new StringBuilder("{\"sent\": [");
        for (int i = 0; i < sent.length; i++) {
            out.append(i == 0 ? "" : ", ").append(sent[i]);
        }
        out.append("], \"failed\": ").append(failed.get()).append(", \"first_error\": ");
        String error = firstError.get();
        out.append(error == null ? "null" : quote(error)).append('}');
        System.out.println(out);
        System.out.flush();
        System.exit(status);
    }

    private static byte[] readBytes(DataInputStream in, boolean nullable) throws java.io.IOException {
        int length = in.readInt();
        if (length == -1 && nullable) {
            return null;
        }
        if (length < 0) {
            throw new IllegalArgumentException("frame has a negative length " + length);
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }

    private static String quote(String text) {
        StringBuilder q = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                q.append('\\').append(c);
            } else if (c < 0x20) {
                q.append(String.format("\\u%04x", (int) c));
            } else {
                q.append(c);
            }
        }
        return q.append('"').toString();
    }
}
