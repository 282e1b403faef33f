/*
 * publish.c - publish-on-close, as two processes see it (test_publish.sh).
 *
 *   publish visibility DIR     A creates and writes DIR/f and keeps it open;
 *                              B (another process) must get ENOENT from stat
 *                              and open, not see f in readdir, get EBUSY when
 *                              it creates f, and ENOENT when it unlinks f; A's
 *                              other thread sees f whole.  Closing a dup() of
 *                              A's descriptor, or one of two writable handles,
 *                              keeps f unpublished; when the last writable
 *                              handle closes, B sees the full size and content.
 *   publish rename DIR ROUNDS  A writes a temp name, closes, renames it over
 *                              DIR/page.bin (SGLang, ds4); B polls page.bin and
 *                              must only ever see ENOENT or a complete file.
 *   publish direct DIR ROUNDS  A writes DIR/direct.bin in pieces directly under
 *                              its final name (LMCache); same check for B.
 *   publish handoff DIR ROUNDS A closes (or closes and renames) a new file and
 *                              at once tells B, which must find it whole by
 *                              stat, read and readdir; some rounds a child of
 *                              A still holds the descriptor.
 *
 * B is forked before A creates anything, so it shares no descriptors with A.
 * Every check prints "FAIL: what: expected X, got Y" and the exit status is 1
 * if any failed.  Self-contained: libc, pthreads and t_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t_util.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF or len bytes. */
static ssize_t read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------------------ */
/* visibility: B is a command server in a child process                      */

struct peer {
	pid_t pid;
	FILE *to, *from;
};

/*
 * B's commands, one per line; B answers one line:
 *   stat PATH | open PATH | creat PATH | excl PATH | unlink PATH
 *        -> OK [size] | ERRNO
 *   list DIR NAME -> listed | absent | ERRNO
 *   read PATH SIZE SEED -> OK | why not
 */
static void peer_serve(FILE *in, FILE *out)
{
	char line[4096], cmd[16], path[4000];
	static unsigned char *buf, *want;

	while (fgets(line, sizeof(line), in)) {
		unsigned long long a = 0, b = 0;
		struct stat st;
		int fd;

		if (sscanf(line, "%15s %3999s %llu %llu", cmd, path, &a, &b) < 2)
			break;
		if (strcmp(cmd, "stat") == 0) {
			if (stat(path, &st) < 0)
				fprintf(out, "%s\n", t_ename(errno));
			else
				fprintf(out, "OK %lld\n", (long long)st.st_size);
		} else if (strcmp(cmd, "open") == 0 || strcmp(cmd, "creat") == 0 ||
			   strcmp(cmd, "excl") == 0) {
			int flags = cmd[0] == 'o' ? O_RDONLY :
				    cmd[0] == 'c' ? O_CREAT | O_WRONLY : O_CREAT | O_EXCL | O_WRONLY;

			fd = open(path, flags, 0644);
			if (fd < 0) {
				fprintf(out, "%s\n", t_ename(errno));
			} else {
				fstat(fd, &st);
				close(fd);
				fprintf(out, "OK %lld\n", (long long)st.st_size);
			}
		} else if (strcmp(cmd, "unlink") == 0) {
			fprintf(out, "%s\n", unlink(path) < 0 ? t_ename(errno) : "OK");
		} else if (strcmp(cmd, "list") == 0) {
			char name[256];
			int r;

			sscanf(line, "%*s %*s %255s", name);
			r = t_listed(path, name);
			fprintf(out, "%s\n", r < 0 ? t_ename(-r) : r ? "listed" : "absent");
		} else if (strcmp(cmd, "read") == 0) {
			ssize_t n;

			free(buf);
			free(want);
			buf = malloc(a + 1);
			want = malloc(a + 1);
			t_pattern(want, a, b, 0);
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				fprintf(out, "open: %s\n", t_ename(errno));
			} else {
				n = read_full(fd, buf, a + 1, 0);
				close(fd);
				if (n < 0)
					fprintf(out, "read: %s\n", t_ename((int)-n));
				else if ((size_t)n != a)
					fprintf(out, "read %zd bytes, expected %llu\n", n, a);
				else if (memcmp(buf, want, a) != 0)
					fprintf(out, "content differs\n");
				else
					fprintf(out, "OK\n");
			}
		} else {
			fprintf(out, "bad command\n");
		}
		fflush(out);
	}
}

static int peer_start(struct peer *p)
{
	int down[2], up[2];

	if (pipe(down) < 0 || pipe(up) < 0)
		return -errno;
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		FILE *in = fdopen(down[0], "r"), *out = fdopen(up[1], "w");

		close(down[1]);
		close(up[0]);
		peer_serve(in, out);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	p->to = fdopen(down[1], "w");
	p->from = fdopen(up[0], "r");
	return 0;
}

/* Ask B; returns its answer (static buffer, newline stripped). */
static const char *peer_ask(struct peer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *peer_ask(struct peer *p, const char *fmt, ...)
{
	static char ans[512];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->to, fmt, ap);
	va_end(ap);
	fputc('\n', p->to);
	fflush(p->to);
	if (!fgets(ans, sizeof(ans), p->from))
		snprintf(ans, sizeof(ans), "peer died");
	ans[strcspn(ans, "\n")] = 0;
	return ans;
}

static void peer_stop(struct peer *p)
{
	int st;

	fclose(p->to);
	fclose(p->from);
	waitpid(p->pid, &st, 0);
}

struct same_proc {
	const char *dir, *path;
	size_t size;
	uint64_t seed;
	char result[512];
	int keep_fd;		/* out: an O_RDONLY fd left open */
};

/* A's second thread: the unpublished file must be fully visible to it. */
static void *same_proc_thread(void *arg)
{
	struct same_proc *s = arg;
	unsigned char *buf = malloc(s->size + 1), *want = malloc(s->size);
	struct stat st;
	ssize_t n;
	int fd, r;

	s->keep_fd = -1;
	t_pattern(want, s->size, s->seed, 0);
	if (stat(s->path, &st) < 0) {
		snprintf(s->result, sizeof(s->result), "stat: %s", t_ename(errno));
	} else if ((size_t)st.st_size != s->size) {
		snprintf(s->result, sizeof(s->result), "stat size %lld, expected %zu",
			 (long long)st.st_size, s->size);
	} else if ((fd = open(s->path, O_RDONLY)) < 0) {
		snprintf(s->result, sizeof(s->result), "open O_RDONLY: %s", t_ename(errno));
	} else if ((n = read_full(fd, buf, s->size + 1, 0)) != (ssize_t)s->size) {
		snprintf(s->result, sizeof(s->result), "read returned %zd, expected %zu", n, s->size);
	} else if (memcmp(buf, want, s->size) != 0) {
		snprintf(s->result, sizeof(s->result), "content differs");
	} else if ((r = t_listed(s->dir, "f")) != 1) {
		snprintf(s->result, sizeof(s->result), "readdir: %s",
			 r < 0 ? t_ename(-r) : "f not listed");
	} else {
		snprintf(s->result, sizeof(s->result), "OK");
		s->keep_fd = fd;
	}
	free(buf);
	free(want);
	return NULL;
}

static void expect(const char *what, const char *got, const char *want)
{
	T_CHECK(strcmp(got, want) == 0, "%s: expected %s, got %s", what, want, got);
	if (strcmp(got, want) == 0)
		printf("ok: %s: %s\n", what, got);
}

static int visibility(const char *dir)
{
	const size_t size = (3u << 20) + 123;	/* > 1 MiB: the direct-I/O path */
	const uint64_t seed = 5;
	char path[4096], want[64];
	unsigned char *buf = malloc(size);
	struct same_proc s = { .dir = dir, .path = path, .size = size, .seed = seed };
	struct peer b;
	pthread_t th;
	struct stat st;
	int fd, fd2;

	snprintf(path, sizeof(path), "%s/f", dir);
	if (peer_start(&b) < 0)
		return 2;
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0) {
		printf("FAIL: A: create %s: %s\n", path, t_ename(errno));
		return 1;
	}
	t_pattern(buf, size, seed, 0);
	if (write_all(fd, buf, size) < 0) {
		printf("FAIL: A: write: %s\n", strerror(errno));
		return 1;
	}

	expect("B stat f while A writes", peer_ask(&b, "stat %s", path), "ENOENT");
	expect("B open f O_RDONLY while A writes", peer_ask(&b, "open %s", path), "ENOENT");
	expect("B readdir while A writes", peer_ask(&b, "list %s f", dir), "absent");
	expect("B open f O_CREAT|O_WRONLY while A writes", peer_ask(&b, "creat %s", path), "EBUSY");
	expect("B open f O_CREAT|O_EXCL while A writes", peer_ask(&b, "excl %s", path), "EBUSY");
	expect("B unlink f while A writes", peer_ask(&b, "unlink %s", path), "ENOENT");
	expect("B stat f after its refused create", peer_ask(&b, "stat %s", path), "ENOENT");

	T_CHECK(stat(path, &st) == 0 && (size_t)st.st_size == size,
		"A stat f: expected size %zu, got %s %lld", size, t_ename(errno), (long long)st.st_size);
	pthread_create(&th, NULL, same_proc_thread, &s);
	pthread_join(th, NULL);
	expect("A's second thread: stat, open, read, readdir of f", s.result, "OK");

	/* The last (only) writer closes: published, although A's other thread
	 * still has f open for reading. */
	close(fd);
	snprintf(want, sizeof(want), "OK %zu", size);
	expect("B stat f after A's writer closed", peer_ask(&b, "stat %s", path), want);
	expect("B readdir after A closed", peer_ask(&b, "list %s f", dir), "listed");
	expect("B open and read f after A closed",
	       peer_ask(&b, "read %s %zu %llu", path, size, (unsigned long long)seed), "OK");
	expect("B open f O_CREAT|O_EXCL after publish", peer_ask(&b, "excl %s", path), "EEXIST");

	/*
	 * g: closing a dup of the writable descriptor sends FLUSH, but the
	 * open file (the FUSE handle) stays open for writing: unpublished.
	 * Shells do this on every builtin redirection (`printf x >&3` is
	 * dup2(3, 1) ... dup2(saved, 1)), as does any program that dup2()s
	 * over stdout.
	 */
	snprintf(path, sizeof(path), "%s/g", dir);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	T_CHECK(fd >= 0 && write(fd, buf, 4096) == 4096, "A create and write g: %s", t_ename(errno));
	fd2 = dup(fd);
	T_CHECK(fd2 >= 0 && close(fd2) == 0, "A dup/close: %s", t_ename(errno));
	expect("B stat g after A closed a dup() of its still-open writable descriptor",
	       peer_ask(&b, "stat %s", path), "ENOENT");
	close(fd);
	expect("B stat g after A closed the descriptor itself", peer_ask(&b, "stat %s", path),
	       "OK 4096");

	/* h: of two writable handles (two opens), closing one keeps it unpublished. */
	snprintf(path, sizeof(path), "%s/h", dir);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	T_CHECK(fd >= 0 && write(fd, buf, 4096) == 4096, "A create and write h: %s", t_ename(errno));
	fd2 = open(path, O_WRONLY);
	T_CHECK(fd2 >= 0, "A open h O_WRONLY a second time: expected OK, got %s", t_ename(errno));
	close(fd);
	expect("B stat h while A's second writable handle is open", peer_ask(&b, "stat %s", path),
	       "ENOENT");
	expect("B readdir while A's second writable handle is open",
	       peer_ask(&b, "list %s h", dir), "absent");
	if (fd2 >= 0)
		close(fd2);
	expect("B stat h after A's last writable handle closed", peer_ask(&b, "stat %s", path),
	       "OK 4096");
	if (s.keep_fd >= 0)
		close(s.keep_fd);
	peer_stop(&b);
	free(buf);
	return t_nfail ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* rename / direct: B polls while A publishes round after round              */

struct shared {
	volatile int stop;
	volatile long hits, misses, bad;
	char why[512];
};

static void poller(struct shared *sh, const char *path)
{
	size_t cap = 8u << 20;
	unsigned char *buf = malloc(cap + 1);
	uint64_t round, last = 0;

	while (!sh->stop) {
		struct stat st;
		const char *why;
		ssize_t n;
		int fd;

		fd = open(path, O_RDONLY);
		if (fd < 0) {
			if (errno != ENOENT) {
				snprintf(sh->why, sizeof(sh->why), "open: %s", t_ename(errno));
				sh->bad++;
			}
			sh->misses++;
			usleep(100);
			continue;
		}
		if (fstat(fd, &st) < 0 || (size_t)st.st_size > cap) {
			snprintf(sh->why, sizeof(sh->why), "fstat: %s size %lld",
				 t_ename(errno), (long long)st.st_size);
			sh->bad++;
			close(fd);
			continue;
		}
		/* SGLang: ONE read() of the whole file; a short read is a failure. */
		n = read(fd, buf, (size_t)st.st_size);
		close(fd);
		if (n != st.st_size) {
			snprintf(sh->why, sizeof(sh->why),
				 "one read() of %lld bytes returned %zd (%s)",
				 (long long)st.st_size, n, n < 0 ? t_ename(errno) : "short");
			sh->bad++;
			continue;
		}
		why = t_self_check(buf, (size_t)n, 0, &round);
		if (why) {
			snprintf(sh->why, sizeof(sh->why), "%s (%zd bytes)", why, n);
			sh->bad++;
			continue;
		}
		if (round < last) {
			snprintf(sh->why, sizeof(sh->why), "saw round %llu after round %llu",
				 (unsigned long long)round, (unsigned long long)last);
			sh->bad++;
		}
		last = round;
		sh->hits++;
	}
	free(buf);
}

static int publish_rounds(const char *dir, int rounds, int direct)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t cap = 6u << 20;
	unsigned char *buf = malloc(cap);
	char final[4096], tmp[4096 + 32];
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	pid_t pid;
	int st;

	snprintf(final, sizeof(final), "%s/%s", dir, direct ? "direct.bin" : "page.bin");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", final, (int)getpid());
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		poller(sh, final);
		_exit(0);
	}
	for (int r = 1; r <= rounds; r++) {
		/* Sizes from 100 bytes to 6 MiB, odd ones included. */
		size_t size = T_SELF_HDR + (t_mix(r * 7919ull) % (cap - T_SELF_HDR));
		const char *name = direct ? final : tmp;
		size_t piece = size / 4 + 1;
		int fd;

		if (r % 3 == 0)
			size = T_SELF_HDR + 100 + r;
		t_self_make(buf, size, 0, (uint64_t)r, (uint64_t)r * 31);
		if (direct && unlink(final) < 0 && errno != ENOENT) {
			printf("FAIL: A: unlink %s: %s\n", final, t_ename(errno));
			t_nfail++;
			break;
		}
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			printf("FAIL: A: create %s: %s\n", name, t_ename(errno));
			t_nfail++;
			break;
		}
		/* In pieces with pauses: a reader that sees a partial file fails its size check. */
		for (size_t off = 0; off < size; off += piece) {
			size_t len = off + piece > size ? size - off : piece;

			if (pwrite(fd, buf + off, len, (off_t)off) != (ssize_t)len) {
				printf("FAIL: A: write %s: %s\n", name, t_ename(errno));
				t_nfail++;
				break;
			}
			nanosleep(&pause, NULL);
		}
		if (close(fd) < 0) {
			printf("FAIL: A: close %s: %s\n", name, t_ename(errno));
			t_nfail++;
		}
		if (!direct && rename(tmp, final) < 0) {
			printf("FAIL: A: rename %s -> %s: %s\n", tmp, final, t_ename(errno));
			t_nfail++;
			break;
		}
		nanosleep(&pause, NULL);
		nanosleep(&pause, NULL);
	}
	sh->stop = 1;
	waitpid(pid, &st, 0);
	printf("%s: %d rounds; B saw %ld complete files, %ld misses, %ld bad\n",
	       direct ? "direct" : "rename", rounds, sh->hits, sh->misses, sh->bad);
	T_CHECK(sh->bad == 0, "B observed %ld bad files; last: %s", sh->bad, sh->why);
	T_CHECK(sh->hits > 0, "B never observed a complete file in %d rounds", rounds);
	free(buf);
	return t_nfail ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* handoff: B acts on a file the moment A's close(2) returns                 */

/*
 * The daemon publishes at the release the kernel queues before close(2)
 * returns (docs/design.md, "Publish-on-close"), so B, told right after,
 * must find the file whole: by stat, by a read of all of it, by readdir,
 * under its final name after a rename.  Every fifth round a child of A
 * inherits the descriptor and holds it past A's close, so no release comes:
 * B's request then waits, reads A's descriptors and publishes.
 */
static int handoff(const char *dir, int rounds)
{
	unsigned char *buf = malloc(1u << 20);
	struct peer b;
	int inherited = 0;

	if (!buf || peer_start(&b) != 0) {
		printf("FAIL: start B\n");
		free(buf);
		return 1;
	}
	for (int r = 1; r <= rounds; r++) {
		size_t size = 1000 + (size_t)r * 337 % (1u << 20);
		char path[4096 + 8], final[4096], name[32];
		const char *ans;
		int fd, hold[2] = { -1, -1 }, st;
		pid_t child = -1;

		snprintf(name, sizeof(name), "h%d", r);
		snprintf(final, sizeof(final), "%s/%s", dir, name);
		snprintf(path, sizeof(path), "%s%s", final, r % 7 == 0 ? ".tmp" : "");
		t_pattern(buf, size, (uint64_t)r, 0);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			printf("FAIL: A: create %s: %s\n", path, t_ename(errno));
			t_nfail++;
			break;
		}
		T_CHECK(write(fd, buf, size) == (ssize_t)size, "A: write %s", path);
		if (r % 5 == 0 && pipe(hold) == 0) {
			fflush(stdout);
			child = fork();
			if (child == 0) { /* holds fd until A closes its end */
				char c;

				close(hold[1]);
				(void)read(hold[0], &c, 1);
				_exit(0);
			}
			close(hold[0]);
			inherited++;
		}
		T_CHECK(close(fd) == 0, "A: close %s: %s", path, t_ename(errno));
		if (r % 7 == 0)
			T_CHECK(rename(path, final) == 0, "A: rename %s: %s", path,
				t_ename(errno));
		ans = peer_ask(&b, "stat %s", final);
		T_CHECK(strncmp(ans, "OK ", 3) == 0 && (size_t)atoll(ans + 3) == size,
			"B: stat %s right after A's close: %s (size %zu)", final, ans, size);
		ans = peer_ask(&b, "read %s %zu %d", final, size, r);
		T_CHECK(strcmp(ans, "OK") == 0, "B: read %s: %s", final, ans);
		if (r % 4 == 0) {
			ans = peer_ask(&b, "list %s %s", dir, name);
			T_CHECK(strcmp(ans, "listed") == 0, "B: list %s: %s", final, ans);
		}
		if (child > 0) {
			close(hold[1]);
			waitpid(child, &st, 0);
		}
	}
	peer_stop(&b);
	printf("handoff: %d rounds, %d with the descriptor held by a child\n",
	       rounds, inherited);
	free(buf);
	return t_nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "visibility") == 0)
		return visibility(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "rename") == 0)
		return publish_rounds(argv[2], atoi(argv[3]), 0);
	if (argc >= 4 && strcmp(argv[1], "direct") == 0)
		return publish_rounds(argv[2], atoi(argv[3]), 1);
	if (argc >= 4 && strcmp(argv[1], "handoff") == 0)
		return handoff(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: publish visibility DIR | rename DIR ROUNDS | "
		"direct DIR ROUNDS | handoff DIR ROUNDS\n");
	return 2;
}
