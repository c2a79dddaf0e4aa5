/*
 * The userspace delay line: holds each packet the fabric forwards for its node pair's
 * one-way delay, drops it with the pair's drop probability (1 when unreachable), and
 * releases it at max(arrival + delay, the pair's last release), so a pair never reorders.
 *
 * It speaks netfilter's queue protocol (NFQUEUE) over a raw netlink socket: packets of
 * many queues may be read with one recv(), and every verdict due at an instant leaves in
 * one send(). The queue is bound with NFQA_CFG_F_GSO, so a GSO super-packet (up to 64 kB)
 * is one packet here, and only its first 20 bytes (the IPv4 header) are copied. The
 * arrival is the kernel's receive timestamp (another socket asks for timestamps), so the
 * time a packet waited for this process counts toward its delay, not on top of it.
 *
 * Pair parameters come from the memory-mapped link file the controller writes
 * (testbed/emulation/shaping/linkfile.py has the layout); this process writes its
 * counters into its queue's slot of the file's statistics block.
 *
 *   delayline run --netns PATH --links FILE --queue N --parent-pid PID
 *             [--spin-us U] [--rt-priority P]
 *   delayline simulate --links FILE [--seed S]
 *             (no root, for tests: the same decisions on stdin lines "packet ID ARRIVED_S
 *             SRC DST [NOW_S]" -> "drop ID" | "accept ID AT_S" | "hold ID", and
 *             "advance NOW_S" -> "accept ID DUE_S" for each release, then "done")
 *
 * Built by testbed/emulation/shaping/delayline_build.py; the Python side starts it
 * (delayline_process.py). No library beyond libc and the kernel's UAPI headers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h> /* before the kernel's headers: glibc's in.h must come first */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "LTLINK01"
#define HEADER_BYTES 16
#define MAX_QUEUES 4
#define STATS_FIELDS 8
#define STATS_OFFSET HEADER_BYTES
#define DATA_OFFSET (STATS_OFFSET + MAX_QUEUES * STATS_FIELDS * 8)
enum { S_RECEIVED, S_RELEASED, S_DROPPED, S_LATE_SUM, S_LATE_MAX, S_QUEUED_MAX, S_HELD };

#define NETWORK_PREFIX_0 10
#define NETWORK_PREFIX_1 200
#define COPY_RANGE 20
#define QUEUE_MAX_PACKETS (1u << 20)
#define RCVBUF_BYTES (16 << 20)
#define RECV_BUFFER_BYTES (1 << 20)
#define SEND_BUFFER_BYTES (256 << 10)
#define IDLE_WAKE_S 0.1
#define STATS_PERIOD_S 0.05
#define SO_TIMESTAMPNS_OPT 35

/* ------------------------------------------------------------------ the link file */

struct links {
    uint32_t n;
    const double *delay_s;
    const double *drop_p;
    double *stats; /* this queue's slot */
    size_t bytes;
};

static int open_links(const char *path, int queue, struct links *links)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    struct stat info;
    if (fstat(fd, &info) < 0) {
        close(fd);
        return -1;
    }
    uint8_t *map = mmap(NULL, info.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -1;
    uint32_t n;
    memcpy(&n, map + 8, sizeof n);
    size_t expected = DATA_OFFSET + 2 * 8 * (size_t)n * n;
    if (memcmp(map, MAGIC, 8) != 0 || (size_t)info.st_size != expected || queue < 0 ||
        queue >= MAX_QUEUES) {
        munmap(map, info.st_size);
        errno = EINVAL;
        return -1;
    }
    links->n = n;
    links->delay_s = (const double *)(map + DATA_OFFSET);
    links->drop_p = links->delay_s + (size_t)n * n;
    links->stats = (double *)(map + STATS_OFFSET) + queue * STATS_FIELDS;
    links->bytes = info.st_size;
    return 0;
}

/* ------------------------------------------------------------------ decisions */

struct held {
    double due;
    uint64_t order; /* arrival order: equal release times leave in arrival order */
    uint32_t id;
};

struct line {
    struct links links;
    double *last_release; /* per pair, monotonic seconds */
    struct held *heap;
    size_t held, capacity;
    uint64_t order;
    uint64_t random_state;
    double received, released, dropped, late_sum, late_max, queued_max;
};

static int index_of(const uint8_t *address)
{
    if (address[0] != NETWORK_PREFIX_0 || address[1] != NETWORK_PREFIX_1)
        return -1;
    return ((address[2] << 8) | address[3]) - 1;
}

static double uniform(struct line *line) /* xorshift64*: fast, seeded, good enough */
{
    uint64_t x = line->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    line->random_state = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static int earlier(const struct held *a, const struct held *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static int push(struct line *line, double due, uint32_t id)
{
    if (line->held == line->capacity) {
        size_t capacity = line->capacity ? 2 * line->capacity : 4096;
        struct held *grown = realloc(line->heap, capacity * sizeof *grown);
        if (!grown)
            return -1;
        line->heap = grown;
        line->capacity = capacity;
    }
    size_t at = line->held++;
    struct held item = {due, line->order++, id};
    while (at > 0 && earlier(&item, &line->heap[(at - 1) / 2])) {
        line->heap[at] = line->heap[(at - 1) / 2];
        at = (at - 1) / 2;
    }
    line->heap[at] = item;
    if (line->held > line->queued_max)
        line->queued_max = line->held;
    return 0;
}

static struct held pop(struct line *line)
{
    struct held top = line->heap[0];
    struct held last = line->heap[--line->held];
    size_t at = 0;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= line->held)
            break;
        if (child + 1 < line->held && earlier(&line->heap[child + 1], &line->heap[child]))
            child++;
        if (!earlier(&line->heap[child], &last))
            break;
        line->heap[at] = line->heap[child];
        at = child;
    }
    if (line->held)
        line->heap[at] = last;
    return top;
}

enum verdict { DROP, RELEASE_NOW, HOLD };

/* What to do with a packet from src to dst that arrived at `arrived` (seen at `now`). */
static enum verdict decide(struct line *line, int src, int dst, double arrived, double now,
                           uint32_t id)
{
    line->received++;
    uint32_t n = line->links.n;
    if (src < 0 || dst < 0 || (uint32_t)src >= n || (uint32_t)dst >= n) {
        line->dropped++;
        return DROP;
    }
    size_t pair = (size_t)src * n + dst;
    double drop_p = line->links.drop_p[pair];
    if (drop_p > 0.0 && uniform(line) < drop_p) {
        line->dropped++;
        return DROP;
    }
    double due = arrived + line->links.delay_s[pair];
    if (line->last_release[pair] > due)
        due = line->last_release[pair];
    line->last_release[pair] = due;
    if (due <= now) {
        line->released++;
        return RELEASE_NOW;
    }
    if (push(line, due, id) < 0) { /* out of memory: let it go now rather than lose it */
        line->released++;
        return RELEASE_NOW;
    }
    return HOLD;
}

static void count_release(struct line *line, double due, double now)
{
    line->released++;
    double late = now - due;
    line->late_sum += late;
    if (late > line->late_max)
        line->late_max = late;
}

static void publish(struct line *line)
{
    double *s = line->links.stats;
    s[S_RECEIVED] = line->received;
    s[S_RELEASED] = line->released;
    s[S_DROPPED] = line->dropped;
    s[S_LATE_SUM] = line->late_sum;
    s[S_LATE_MAX] = line->late_max;
    s[S_QUEUED_MAX] = line->queued_max;
    s[S_HELD] = line->held;
}

static int init_line(struct line *line, const char *path, int queue, uint64_t seed)
{
    memset(line, 0, sizeof *line);
    if (open_links(path, queue, &line->links) < 0)
        return -1;
    size_t pairs = (size_t)line->links.n * line->links.n;
    line->last_release = calloc(pairs ? pairs : 1, sizeof(double));
    line->random_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
    return line->last_release ? 0 : -1;
}

/* ------------------------------------------------------------------ time */

static double clock_s(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ netlink */

struct netlink {
    int fd;
    uint16_t queue;
    uint8_t *out;
    size_t out_used;
    uint32_t seq;
};

static size_t align4(size_t length) { return (length + 3) & ~(size_t)3; }

static uint8_t *begin(struct netlink *nl, uint16_t type, uint16_t flags)
{
    uint8_t *at = nl->out + nl->out_used;
    struct nlmsghdr *header = (struct nlmsghdr *)at;
    header->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
    header->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
    header->nlmsg_flags = NLM_F_REQUEST | flags;
    header->nlmsg_seq = ++nl->seq;
    header->nlmsg_pid = 0;
    struct nfgenmsg *gen = (struct nfgenmsg *)(at + NLMSG_HDRLEN);
    gen->nfgen_family = AF_UNSPEC;
    gen->version = NFNETLINK_V0;
    gen->res_id = htons(nl->queue);
    return at;
}

static void attribute(uint8_t *message, uint16_t type, const void *data, size_t length)
{
    struct nlmsghdr *header = (struct nlmsghdr *)message;
    struct nlattr *attr = (struct nlattr *)(message + align4(header->nlmsg_len));
    attr->nla_type = type;
    attr->nla_len = NLA_HDRLEN + length;
    memcpy((uint8_t *)attr + NLA_HDRLEN, data, length);
    memset((uint8_t *)attr + NLA_HDRLEN + length, 0, align4(attr->nla_len) - attr->nla_len);
    header->nlmsg_len = align4(header->nlmsg_len) + align4(attr->nla_len);
}

static void finish(struct netlink *nl, uint8_t *message)
{
    nl->out_used += align4(((struct nlmsghdr *)message)->nlmsg_len);
}

static int flush(struct netlink *nl)
{
    size_t sent = 0;
    while (sent < nl->out_used) {
        ssize_t done = send(nl->fd, nl->out + sent, nl->out_used - sent, 0);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        sent += done;
    }
    nl->out_used = 0;
    return 0;
}

static int verdict(struct netlink *nl, uint32_t id, uint32_t decision)
{
    if (nl->out_used + 64 > SEND_BUFFER_BYTES && flush(nl) < 0)
        return -1;
    struct nfqnl_msg_verdict_hdr body = {htonl(decision), htonl(id)};
    uint8_t *message = begin(nl, NFQNL_MSG_VERDICT, 0);
    attribute(message, NFQA_VERDICT_HDR, &body, sizeof body);
    finish(nl, message);
    return 0;
}

/* Send one configuration request and wait for its acknowledgement. */
static int configure(struct netlink *nl, uint16_t attr_type, const void *data, size_t length,
                     uint16_t attr2, const void *data2, size_t length2)
{
    uint8_t *message = begin(nl, NFQNL_MSG_CONFIG, NLM_F_ACK);
    attribute(message, attr_type, data, length);
    if (data2)
        attribute(message, attr2, data2, length2);
    finish(nl, message);
    if (flush(nl) < 0)
        return -1;
    uint8_t reply[4096];
    for (;;) {
        ssize_t got = recv(nl->fd, reply, sizeof reply, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, got);
             h = NLMSG_NEXT(h, got)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *error = NLMSG_DATA(h);
                if (error->error) {
                    errno = -error->error;
                    return -1;
                }
                return 0;
            }
        }
    }
}

static int open_queue(struct netlink *nl, int queue)
{
    memset(nl, 0, sizeof *nl);
    nl->queue = queue;
    nl->out = malloc(SEND_BUFFER_BYTES);
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (!nl->out || nl->fd < 0)
        return -1;
    int size = RCVBUF_BYTES;
    if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    int on = 1; /* no ENOBUFS reports: the kernel counts what it could not queue */
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on);
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(nl->fd, (struct sockaddr *)&local, sizeof local) < 0)
        return -1;
    struct nfqnl_msg_config_cmd bind_cmd = {NFQNL_CFG_CMD_BIND, 0, htons(AF_INET)};
    if (configure(nl, NFQA_CFG_CMD, &bind_cmd, sizeof bind_cmd, 0, NULL, 0) < 0)
        return -1;
    struct nfqnl_msg_config_params params = {htonl(COPY_RANGE), NFQNL_COPY_PACKET};
    uint32_t maxlen = htonl(QUEUE_MAX_PACKETS);
    if (configure(nl, NFQA_CFG_PARAMS, &params, sizeof params, NFQA_CFG_QUEUE_MAXLEN, &maxlen,
                  sizeof maxlen) < 0)
        return -1;
    uint32_t gso = htonl(NFQA_CFG_F_GSO);
    return configure(nl, NFQA_CFG_MASK, &gso, sizeof gso, NFQA_CFG_FLAGS, &gso, sizeof gso);
}

/* ------------------------------------------------------------------ the run loop */

static volatile sig_atomic_t stopping;
static void request_stop(int signal_number) { (void)signal_number; stopping = 1; }

struct packet {
    uint32_t id;
    int src, dst;
    double stamp_realtime; /* 0 when the kernel did not stamp it */
};

static int parse_packet(struct nlmsghdr *h, struct packet *packet)
{
    uint8_t *at = (uint8_t *)NLMSG_DATA(h) + sizeof(struct nfgenmsg);
    uint8_t *end = (uint8_t *)h + h->nlmsg_len;
    int have_id = 0;
    packet->src = packet->dst = -1;
    packet->stamp_realtime = 0.0;
    while (at + NLA_HDRLEN <= end) {
        struct nlattr *attr = (struct nlattr *)at;
        if (attr->nla_len < NLA_HDRLEN || at + attr->nla_len > end)
            break;
        uint8_t *data = at + NLA_HDRLEN;
        size_t length = attr->nla_len - NLA_HDRLEN;
        switch (attr->nla_type & NLA_TYPE_MASK) {
        case NFQA_PACKET_HDR:
            if (length >= sizeof(struct nfqnl_msg_packet_hdr)) {
                packet->id = ntohl(((struct nfqnl_msg_packet_hdr *)data)->packet_id);
                have_id = 1;
            }
            break;
        case NFQA_PAYLOAD:
            if (length >= 20) {
                packet->src = index_of(data + 12);
                packet->dst = index_of(data + 16);
            }
            break;
        case NFQA_TIMESTAMP:
            if (length >= sizeof(struct nfqnl_msg_packet_timestamp)) {
                struct nfqnl_msg_packet_timestamp *stamp = (void *)data;
                packet->stamp_realtime =
                    (double)be64toh(stamp->sec) + (double)be64toh(stamp->usec) / 1e6;
            }
            break;
        }
        at += align4(attr->nla_len);
    }
    return have_id ? 0 : -1;
}

static int drain(struct line *line, struct netlink *nl, uint8_t *buffer, double offset)
{
    for (;;) {
        ssize_t got = recv(nl->fd, buffer, RECV_BUFFER_BYTES, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            return -1;
        }
        double now = clock_s(CLOCK_MONOTONIC);
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, got);
             h = NLMSG_NEXT(h, got)) {
            if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
                continue;
            struct packet packet;
            if (parse_packet(h, &packet) < 0)
                continue;
            double arrived = packet.stamp_realtime > 0.0 ? packet.stamp_realtime - offset : now;
            if (arrived > now)
                arrived = now;
            switch (decide(line, packet.src, packet.dst, arrived, now, packet.id)) {
            case DROP:
                if (verdict(nl, packet.id, NF_DROP) < 0)
                    return -1;
                break;
            case RELEASE_NOW:
                if (verdict(nl, packet.id, NF_ACCEPT) < 0)
                    return -1;
                break;
            case HOLD:
                break;
            }
        }
    }
}

static int release_due(struct line *line, struct netlink *nl, double now)
{
    while (line->held && line->heap[0].due <= now) {
        struct held item = pop(line);
        count_release(line, item.due, now);
        if (verdict(nl, item.id, NF_ACCEPT) < 0)
            return -1;
    }
    return 0;
}

static int enter_netns(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int result = setns(fd, CLONE_NEWNET);
    close(fd);
    return result;
}

static int run(const char *netns, const char *path, int queue, pid_t parent, double spin_s,
               int rt_priority)
{
    signal(SIGTERM, request_stop);
    signal(SIGINT, request_stop);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        return 1;
    prctl(PR_SET_TIMERSLACK, 1);
    if (rt_priority > 0) {
        struct sched_param param = {.sched_priority = rt_priority};
        if (sched_setscheduler(0, SCHED_FIFO, &param) < 0)
            fprintf(stderr, "delay line runs without real-time priority: %s\n", strerror(errno));
    }
    if (enter_netns(netns) < 0) {
        fprintf(stderr, "cannot enter namespace %s: %s\n", netns, strerror(errno));
        return 1;
    }
    struct line line;
    if (init_line(&line, path, queue, (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL) < 0) {
        fprintf(stderr, "cannot open link file %s: %s\n", path, strerror(errno));
        return 1;
    }
    int stamper = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1; /* while a socket asks for timestamps, the kernel stamps every packet */
    setsockopt(stamper, SOL_SOCKET, SO_TIMESTAMPNS_OPT, &on, sizeof on);
    struct netlink nl;
    if (open_queue(&nl, queue) < 0) {
        fprintf(stderr, "cannot bind NFQUEUE %d: %s\n", queue, strerror(errno));
        return 1;
    }
    uint8_t *buffer = malloc(RECV_BUFFER_BYTES);
    if (!buffer)
        return 1;
    printf("ready\n");
    fflush(stdout);
    double offset = clock_s(CLOCK_REALTIME) - clock_s(CLOCK_MONOTONIC);
    double next_stats = 0.0;
    while (!stopping && getppid() == parent) {
        double now = clock_s(CLOCK_MONOTONIC);
        double wait = line.held ? line.heap[0].due - now - spin_s : IDLE_WAKE_S;
        if (wait > IDLE_WAKE_S)
            wait = IDLE_WAKE_S;
        if (wait < 0.0)
            wait = 0.0; /* due within the spin: poll without sleeping until it is */
        struct pollfd ready = {.fd = nl.fd, .events = POLLIN};
        struct timespec sleep_for = {0, (long)(wait * 1e9)};
        if (ppoll(&ready, 1, &sleep_for, NULL) < 0 && errno != EINTR)
            break;
        if (drain(&line, &nl, buffer, offset) < 0)
            break;
        now = clock_s(CLOCK_MONOTONIC);
        if (release_due(&line, &nl, now) < 0 || flush(&nl) < 0)
            break;
        if (now >= next_stats) {
            publish(&line);
            offset = clock_s(CLOCK_REALTIME) - clock_s(CLOCK_MONOTONIC); /* follows NTP */
            next_stats = now + STATS_PERIOD_S;
        }
    }
    publish(&line);
    return 0;
}

/* ------------------------------------------------------------------ simulate (tests) */

static int simulate(const char *path, uint64_t seed)
{
    struct line line;
    if (init_line(&line, path, 0, seed) < 0) {
        fprintf(stderr, "cannot open link file %s: %s\n", path, strerror(errno));
        return 1;
    }
    char text[256];
    while (fgets(text, sizeof text, stdin)) {
        unsigned id;
        double arrived, now;
        int src, dst;
        int fields = sscanf(text, "packet %u %lf %d %d %lf", &id, &arrived, &src, &dst, &now);
        if (fields >= 4) {
            if (fields == 4)
                now = arrived;
            if (arrived > now)
                arrived = now;
            enum verdict decision = decide(&line, src, dst, arrived, now, id);
            if (decision == DROP)
                printf("drop %u\n", id);
            else if (decision == RELEASE_NOW)
                printf("accept %u %.9f\n", id, now);
            else
                printf("hold %u\n", id);
        } else if (sscanf(text, "advance %lf", &now) == 1) {
            while (line.held && line.heap[0].due <= now) {
                struct held item = pop(&line);
                count_release(&line, item.due, item.due);
                printf("accept %u %.9f\n", item.id, item.due);
            }
            printf("done\n");
        }
        publish(&line);
        fflush(stdout);
    }
    return 0;
}

static const char *option(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return fallback;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "simulate") == 0) {
        const char *path = option(argc, argv, "--links", NULL);
        if (!path)
            return 2;
        return simulate(path, strtoull(option(argc, argv, "--seed", "1"), NULL, 10));
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        const char *netns = option(argc, argv, "--netns", NULL);
        const char *path = option(argc, argv, "--links", NULL);
        const char *parent = option(argc, argv, "--parent-pid", NULL);
        if (!netns || !path || !parent)
            return 2;
        return run(netns, path, atoi(option(argc, argv, "--queue", "0")), atoi(parent),
                   atof(option(argc, argv, "--spin-us", "50")) / 1e6,
                   atoi(option(argc, argv, "--rt-priority", "0")));
    }
    fprintf(stderr, "usage: delayline run --netns PATH --links FILE --queue N --parent-pid PID "
                    "[--spin-us U] [--rt-priority P]\n"
                    "       delayline simulate --links FILE [--seed S]\n");
    return 2;
}
