/* mock_cluster_host — keeps a librdkafka mock cluster (rdkafka_mock.h) alive in its own process,
 * so tests and CLI runs can use a Kafka protocol endpoint without a JVM.
 *
 *   mock_cluster_host [-b BROKERS] [-t TOPIC:PARTITIONS]... [-s]
 *
 *   -b N        number of mock brokers (default 1)
 *   -t T:P      create topic T with P partitions before announcing the cluster (repeatable);
 *               other topics are auto-created on first use with the mock's default count
 *   -s          ignore stdin: run until SIGTERM/SIGINT only (for `... </dev/null &`)
 *
 * Once every topic exists it prints one line, `BOOTSTRAP=<host:port,...>`, on stdout and
 * flushes it. It then runs until stdin reaches end of file (the parent closed its pipe or
 * died) or a SIGTERM/SIGINT arrives, and exits 0 after destroying the cluster.
 * Exit status 2: bad arguments; 1: the cluster could not be created.
 *
 * The mock cluster keeps everything in memory: no persistence across runs, and only a few
 * MiB per partition.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, getopt, poll */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

enum { max_topics = 64, max_brokers = 32, max_partitions = 1024 };

struct topic_spec {
    const char *name;
    int partitions;
};

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void usage(const char *why) {
    if (why)
        fprintf(stderr, "mock_cluster_host: %s\n", why);
    fprintf(stderr, "usage: mock_cluster_host [-b BROKERS] [-t TOPIC:PARTITIONS]... [-s]\n");
    exit(2);
}

/* Parses a whole decimal number in [min, max]; anything else is a usage error. */
static int parse_count(const char *text, int min, int max, const char *what) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        char message[160];
        snprintf(message, sizeof message, "%s must be a number from %d to %d, got \"%s\"", what,
                 min, max, text);
        usage(message);
    }
    return (int)value;
}

/* Splits "name:partitions" in place; the name is the text before the last ':'. */
static struct topic_spec parse_topic(char *arg) {
    char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || colon[1] == '\0')
        usage("-t needs TOPIC:PARTITIONS, e.g. -t user-commands:6");
    *colon = '\0';
    struct topic_spec spec = {arg, parse_count(colon + 1, 1, max_partitions, "partitions")};
    return spec;
}

/* Blocks until stdin is closed (or unreadable) or a stop signal arrives. */
static void wait_for_shutdown(int watch_stdin) {
    char discard[512];
    while (!stop_requested) {
        struct pollfd in = {STDIN_FILENO, POLLIN, 0};
        int ready = poll(watch_stdin ? &in : NULL, watch_stdin ? 1 : 0, 200);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (ready == 0)
            continue;
        /* Input is ignored; only end of file (or an error) means "stop". */
        ssize_t n = read(STDIN_FILENO, discard, sizeof discard);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return;
    }
}

int main(int argc, char **argv) {
    int brokers = 1;
    int watch_stdin = 1;
    struct topic_spec topics[max_topics];
    int topic_count = 0;

    int opt;
    while ((opt = getopt(argc, argv, "b:t:sh")) != -1) {
        switch (opt) {
        case 'b':
            brokers = parse_count(optarg, 1, max_brokers, "-b brokers");
            break;
        case 't':
            if (topic_count == max_topics)
                usage("too many -t topics");
            topics[topic_count++] = parse_topic(optarg);
            break;
        case 's':
            watch_stdin = 0;
            break;
        case 'h':
            usage(NULL);
            break;
        default:
            usage(NULL);
        }
    }
    if (optind != argc)
        usage("unexpected argument");

    /* A stop signal during setup must still end the process cleanly. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    /* The parent may close our stdout early; that must not kill the cluster silently. */
    signal(SIGPIPE, SIG_IGN);

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only owns the cluster's threads; keep its own chatter to errors. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock_cluster_host: %s\n", errstr);
        return 1;
    }
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!owner) {
        fprintf(stderr, "mock_cluster_host: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(owner, brokers);
    if (!cluster) {
        fprintf(stderr, "mock_cluster_host: could not create a mock cluster of %d brokers\n",
                brokers);
        rd_kafka_destroy(owner);
        return 1;
    }

    int replication = brokers < 3 ? brokers : 3;
    int status = 0;
    for (int i = 0; i < topic_count && status == 0; ++i) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(cluster, topics[i].name, topics[i].partitions, replication);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "mock_cluster_host: creating topic %s: %s\n", topics[i].name,
                    rd_kafka_err2str(err));
            status = 1;
        }
    }

    if (status == 0) {
        printf("BOOTSTRAP=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
        fflush(stdout);
        wait_for_shutdown(watch_stdin);
    }

    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(owner);
    return status;
}
