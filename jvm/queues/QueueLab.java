package etlkit;

import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.admin.SupportedVersionRange;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * One topic read by a group of members, as a consumer group or as a share group (KIP-932),
 * with every delivery written as one line: lesson 04's measurement of the two kinds of group.
 *
 * <p>Usage: {@code java -cp <this jar>:<kafka jars> etlkit.QueueLab PROPERTIES share|consumer key=value...}.
 * PROPERTIES holds the client settings (bootstrap servers, security). The options:
 * {@code group}, {@code topic}, {@code partitions} (2), {@code members} (4), {@code records} (24),
 * {@code keys} (4), {@code work.ms} (20: each member's time per record), {@code work.step.ms} (0: member m
 * takes m times this much longer), {@code release} (values released
 * on their first delivery), {@code poison} (values released on every delivery), {@code reject} (values
 * rejected), {@code stall} (a value: the member that first gets it stops polling and holds it),
 * {@code lock.ms} (the group's acquisition lock), {@code limit} (the group's delivery count limit),
 * {@code heartbeat.ms} (the members' heartbeat interval), {@code settle.ms} (how long the members go on
 * polling once every record has ended), {@code max.poll} (1), {@code timeout.ms} (60000).
 *
 * <p>The topic is created afresh; the members join and the run waits until the group coordinator
 * reports every member, and only then are the records produced (values r00, r01, ...; record i has key k(i mod keys) and
 * goes to partition (i mod keys) mod partitions),
 * so no member starts early. Each line on standard output starts with {@code @@ } and holds one JSON
 * object: a delivery {@code {"t":ms,"member":i,"partition":p,"offset":o,"key":..,"value":..,
 * "delivery":n,"ack":..}} ({@code delivery} is the broker's delivery count, absent for a consumer
 * group; {@code ack} is accept/release/reject/none for a share group, commit for a consumer group),
 * then one summary. A share group on a broker where share groups are off ends with exit code 3 and
 * a line {@code {"error":..}}; any other failure with exit code 2.
 */
public final class QueueLab {
    private final Properties client;
    private final boolean share;
    private final Map<String, String> opt;
    private final long t0 = System.nanoTime();
    private final AtomicBoolean stop = new AtomicBoolean();
    /** value -> how the record ended: accepted, rejected, archived (released at the limit), seen (consumer group). */
    private final Map<String, String> done = new ConcurrentHashMap<>();

    private QueueLab(Properties client, boolean share, Map<String, String> opt) {
        this.client = client;
        this.share = share;
        this.opt = opt;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[1].equals("upgrade")) {
            System.exit(upgrade(load(args[0])));
        }
        if (args.length < 2 || !(args[1].equals("share") || args[1].equals("consumer"))) {
            System.err.println("usage: QueueLab PROPERTIES share|consumer key=value... | QueueLab PROPERTIES upgrade");
            System.exit(64);
        }
        Properties client = load(args[0]);
        Map<String, String> opt = new HashMap<>();
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 1) {
                System.err.println("not key=value: " + args[i]);
                System.exit(64);
            }
            opt.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        int status;
        try {
            status = new QueueLab(client, args[1].equals("share"), opt).run();
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            emit("{\"error\":" + json(cause.getClass().getSimpleName() + ": " + cause.getMessage()) + "}");
            status = 2;
        }
        System.out.flush();
        System.exit(status);
    }

    /**
     * Raise the cluster's metadata.version and share.version to the newest levels its brokers support: what
     * {@code kafka-features.sh upgrade} does after storage formatted by an older Kafka meets a newer broker
     * (share groups stay off at the old level). Prints one line {@code {"upgraded":{feature:[from,to],..}}}.
     */
    private static int upgrade(Properties client) throws Exception {
        try (Admin admin = Admin.create(client)) {
            FeatureMetadata meta = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS);
            Map<String, FeatureUpdate> updates = new HashMap<>();
            StringBuilder out = new StringBuilder("{\"upgraded\":{");
            for (String name : List.of("metadata.version", "share.version")) {
                SupportedVersionRange supported = meta.supportedFeatures().get(name);
                FinalizedVersionRange level = meta.finalizedFeatures().get(name);
                short from = level == null ? 0 : level.maxVersionLevel();
                if (supported != null && supported.maxVersion() > from) {
                    updates.put(name, new FeatureUpdate(supported.maxVersion(), FeatureUpdate.UpgradeType.UPGRADE));
                    out.append(updates.size() > 1 ? "," : "").append(json(name)).append(":[").append(from)
                            .append(',').append(supported.maxVersion()).append(']');
                }
            }
            if (!updates.isEmpty()) {
                admin.updateFeatures(updates, new UpdateFeaturesOptions()).all().get(30, TimeUnit.SECONDS);
            }
            emit(out.append("}}").toString());
            return 0;
        } catch (ExecutionException e) {
            emit("{\"error\":" + json(e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage()) + "}");
            return 2;
        }
    }

    /** The client settings file the Python side writes (bootstrap servers, security). */
    private static Properties load(String path) throws Exception {
        Properties client = new Properties();
        try (Reader r = new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8)) {
            client.load(r);
        }
        return client;
    }

    private int num(String key, int dflt) {
        return opt.containsKey(key) ? Integer.parseInt(opt.get(key)) : dflt;
    }

    private Set<String> values(String key) {
        Set<String> out = new HashSet<>();
        for (String v : opt.getOrDefault(key, "").split(",")) {
            if (!v.isEmpty()) {
                out.add(v);
            }
        }
        return out;
    }

    private int run() throws Exception {
        String group = opt.get("group");
        String topic = opt.get("topic");
        int partitions = num("partitions", 2);
        int members = num("members", 4);
        int records = num("records", 24);
        int keys = num("keys", 4);
        long timeoutMs = num("timeout.ms", 60000);
        if (group == null || topic == null) {
            throw new IllegalArgumentException("group=... and topic=... are required");
        }
        try (Admin admin = Admin.create(client)) {
            if (share) {
                FinalizedVersionRange level = admin.describeFeatures().featureMetadata().get()
                        .finalizedFeatures().get("share.version");
                if (level == null || level.maxVersionLevel() < 1) {
                    emit("{\"error\":\"share groups are off on this broker (feature share.version is "
                            + (level == null ? 0 : level.maxVersionLevel()) + ")\"}");
                    return 3;
                }
            }
            configureGroup(admin, group);
            freshTopic(admin, topic, partitions);
            List<Thread> threads = new ArrayList<>();
            for (int m = 0; m < members; m++) {
                final int member = m;
                Thread t = new Thread(() -> member(member, group, topic), "member-" + m);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
            Map<String, List<Integer>> held = waitForMembers(admin, group, members, partitions);
            StringBuilder ready = new StringBuilder("{\"ready\":" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
                    + ",\"assignment\":{");
            String comma = "";
            for (Map.Entry<String, List<Integer>> e : held.entrySet()) {
                ready.append(comma).append(json(e.getKey())).append(':').append(e.getValue().toString().replace(" ", ""));
                comma = ",";
            }
            emit(ready.append("}}").toString());
            long produced = System.nanoTime();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(client, new StringSerializer(),
                    new StringSerializer())) {
                for (int i = 0; i < records; i++) {
                    int key = i % keys;  // key k<j> always goes to partition j mod partitions: an even spread
                    producer.send(new ProducerRecord<>(topic, key % partitions, "k" + key, String.format("r%02d", i)));
                }
                producer.flush();
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (done.size() < records && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - produced);
            Thread.sleep(num("settle.ms", 0));  // keep polling: a record wrongly handed out again would show here
            stop.set(true);
            for (Thread t : threads) {
                t.join(30000);
            }
            Map<String, Integer> ends = new HashMap<>();
            for (String how : done.values()) {
                ends.merge(how, 1, Integer::sum);
            }
            StringBuilder s = new StringBuilder("{\"summary\":{\"records\":" + records + ",\"finished\":"
                    + done.size() + ",\"elapsed_ms\":" + elapsed + ",\"ends\":{");
            String sep = "";
            for (Map.Entry<String, Integer> e : ends.entrySet()) {
                s.append(sep).append(json(e.getKey())).append(':').append(e.getValue());
                sep = ",";
            }
            emit(s.append("}}}").toString());
            return done.size() < records ? 4 : 0;
        }
    }

    /**
     * The group's own settings: a share group starts at the earliest offset (Kafka's default for a new share
     * group is the latest, so records written before it joined would never reach it), with the lock and
     * delivery limit asked for; {@code heartbeat.ms} shortens the members' heartbeats (a broker's floor for them
     * is 5 s unless it lowers it, as the kit's broker does): refused, the run keeps the broker's.
     */
    private void configureGroup(Admin admin, String group) throws Exception {
        List<AlterConfigOp> ops = new ArrayList<>();
        if (share) {
            ops.add(set("share.auto.offset.reset", "earliest"));
            if (opt.containsKey("lock.ms")) {
                ops.add(set("share.record.lock.duration.ms", opt.get("lock.ms")));
            }
            if (opt.containsKey("limit")) {
                ops.add(set("share.delivery.count.limit", opt.get("limit")));
            }
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
        if (opt.containsKey("heartbeat.ms")) {
            List<AlterConfigOp> quick = new ArrayList<>(ops);
            quick.add(set(share ? "share.heartbeat.interval.ms" : "consumer.heartbeat.interval.ms",
                    opt.get("heartbeat.ms")));
            try {
                admin.incrementalAlterConfigs(Map.of(resource, quick)).all().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                emit("{\"note\":" + json("heartbeats kept at the broker's interval: " + e.getCause().getMessage())
                        + "}");
            }
        }
        if (!ops.isEmpty()) {
            admin.incrementalAlterConfigs(Map.of(resource, ops)).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    private void freshTopic(Admin admin, String topic, int partitions) throws Exception {
        try {
            admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                throw e;
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.of(partitions),
                        java.util.Optional.empty()))).all().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                // A deleted topic's name is taken until the controller has removed it.
                if (!(e.getCause() instanceof TopicExistsException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /** Wait until the coordinator reports every member and every partition handed out. */
    private Map<String, List<Integer>> waitForMembers(Admin admin, String group, int members, int partitions)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Set<Integer> covered = new HashSet<>();
            Map<String, List<Integer>> held = new java.util.TreeMap<>();
            int seen;
            try {
                seen = describe(admin, group, members, covered, held);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                    throw e;
                }
                seen = -1;
            }
            if (seen < 0) {  // the group does not exist yet: no member has reached the coordinator
                Thread.sleep(100);
                continue;
            }
            // Ready: a consumer group with one partition per member up to the partitions; a share group with
            // every member holding partitions (a share group hands one partition to several members).
            int want = share ? members : Math.min(members, partitions);
            if (seen == want && covered.size() == partitions) {
                Thread.sleep(500);  // let the members' next heartbeats bring them their assignments
                return held;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the group " + group + " did not report " + members + " members within 60 s");
    }

    /**
     * How many members the coordinator reports holding partitions; the partitions it has handed out go into
     * {@code covered}. The coordinator computes its plan a little after members join (and Kafka 4.4 may compute
     * it away from the request path), so a first plan can give every partition to the first member.
     */
    private int describe(Admin admin, String group, int members, Set<Integer> covered, Map<String, List<Integer>> held)
            throws Exception {
        if (share) {
            ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                    .get(30, TimeUnit.SECONDS);
            if (d.members().size() != members) {
                return 0;
            }
            int holding = 0;
            for (ShareMemberDescription m : d.members()) {
                m.assignment().topicPartitions().forEach(tp -> covered.add(tp.partition()));
                held.put(m.clientId(), partitionsOf(m.assignment().topicPartitions()));
                holding += m.assignment().topicPartitions().isEmpty() ? 0 : 1;
            }
            return holding;
        }
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(30, TimeUnit.SECONDS);
        int holding = 0;
        for (MemberDescription m : d.members()) {
            // A member still moving to its target (the coordinator's plan) is not counted yet.
            if (m.targetAssignment().isPresent() && !m.targetAssignment().get().equals(m.assignment())) {
                return 0;
            }
            m.assignment().topicPartitions().forEach(tp -> covered.add(tp.partition()));
            held.put(m.clientId(), partitionsOf(m.assignment().topicPartitions()));
            holding += m.assignment().topicPartitions().isEmpty() ? 0 : 1;
        }
        return d.members().size() == members ? holding : 0;
    }

    private static List<Integer> partitionsOf(Set<org.apache.kafka.common.TopicPartition> tps) {
        List<Integer> out = new ArrayList<>();
        tps.forEach(tp -> out.add(tp.partition()));
        java.util.Collections.sort(out);
        return out;
    }

    private void member(int member, String group, String topic) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("group.id", group);
        p.put("client.id", "member-" + member);
        try {
            if (share) {
                shareMember(member, topic, p);
            } else {
                consumerMember(member, topic, p);
            }
        } catch (Exception e) {
            emit("{\"member\":" + member + ",\"failed\":" + json(e.getClass().getSimpleName() + ": "
                    + e.getMessage()) + "}");
        }
    }

    private void shareMember(int member, String topic, Properties p) throws InterruptedException {
        p.put("share.acknowledgement.mode", "explicit");
        p.put("share.acquire.mode", "record_limit");
        p.put("max.poll.records", opt.getOrDefault("max.poll", "1"));
        Set<String> release = values("release");
        Set<String> poison = values("poison");
        Set<String> reject = values("reject");
        String stall = opt.get("stall");
        int limit = num("limit", 5);
        long workMs = num("work.ms", 20) + (long) member * num("work.step.ms", 0);
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p, new StringDeserializer(),
                new StringDeserializer());
        boolean stalled = false;
        try {
            c.subscribe(List.of(topic));
            while (!stop.get()) {
                if (stalled) {  // a hung consumer: holds what it acquired, polls no more
                    Thread.sleep(20);
                    continue;
                }
                ConsumerRecords<String, String> batch = c.poll(Duration.ofMillis(100));
                for (ConsumerRecord<String, String> r : batch) {
                    int n = r.deliveryCount().map(Short::intValue).orElse(0);
                    String v = r.value();
                    if (v.equals(stall) && n == 1 && !stalled) {
                        stalled = true;
                        delivery(member, r, n, "none");
                        continue;
                    }
                    if (stalled) {  // anything else it holds is released when it closes at the end
                        delivery(member, r, n, "none");
                        continue;
                    }
                    Thread.sleep(workMs);
                    AcknowledgeType how;
                    if (reject.contains(v)) {
                        how = AcknowledgeType.REJECT;
                        done.put(v, "rejected");
                    } else if (poison.contains(v) || (release.contains(v) && n == 1)) {
                        how = AcknowledgeType.RELEASE;
                        if (n >= limit) {
                            done.put(v, "archived");
                        }
                    } else {
                        how = AcknowledgeType.ACCEPT;
                        done.put(v, "accepted");
                    }
                    c.acknowledge(r, how);
                    delivery(member, r, n, how.toString().toLowerCase());
                }
                if (!batch.isEmpty() && !stalled) {
                    c.commitSync(Duration.ofSeconds(10));
                }
            }
        } finally {
            c.close(Duration.ofSeconds(5));
        }
    }

    private void consumerMember(int member, String topic, Properties p) throws InterruptedException {
        p.put("group.protocol", "consumer");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("max.poll.records", opt.getOrDefault("max.poll", "1"));
        long workMs = num("work.ms", 20) + (long) member * num("work.step.ms", 0);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(),
                new StringDeserializer())) {
            c.subscribe(List.of(topic));
            while (!stop.get()) {
                ConsumerRecords<String, String> batch = c.poll(Duration.ofMillis(100));
                for (ConsumerRecord<String, String> r : batch) {
                    Thread.sleep(workMs);
                    done.put(r.value(), "seen");
                    delivery(member, r, -1, "commit");
                }
                if (!batch.isEmpty()) {
                    c.commitSync(Duration.ofSeconds(10));
                }
            }
        }
    }

    private void delivery(int member, ConsumerRecord<String, String> r, int count, String ack) {
        long t = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        emit("{\"t\":" + t + ",\"member\":" + member + ",\"partition\":" + r.partition() + ",\"offset\":"
                + r.offset() + ",\"key\":" + json(r.key()) + ",\"value\":" + json(r.value())
                + (count >= 0 ? ",\"delivery\":" + count : "") + ",\"ack\":" + json(ack) + "}");
    }

    private static synchronized void emit(String line) {
        System.out.println("@@ " + line);
    }

    private static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') {
                b.append('\\').append(ch);
            } else if (ch < 0x20) {
                b.append(String.format("\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.append('"').toString();
    }
}
