/*
 * stress.c - concurrent writer and reader processes (test_concurrency.sh).
 *
 *   stress DIR NFILES NWRITERS NREADERS ROUNDS
 *
 * Writer w owns the files i with i % NWRITERS == w.  In each round it writes
 * every one of them to a temp name, closes it, and renames it over DIR/f<i>
 * (the SGLang/ds4 pattern).  Each file is self-checking: a 64-byte header
 * (magic, index, round, size, seed, payload hash) and a payload derived from
 * the seed, sizes from 64 bytes to 1 MiB.  Readers loop over readdir, open
 * every f<i>, read it with one read() of its fstat size, and check the header:
 * right index, full size, payload hash, rounds never going backwards.  At the
 * end every f<i> must exist with the last round's content.  Zero mismatches.
 * Self-contained: libc and t_util.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t_util.h"

#define MAXSZ (1u << 20)
#define MAXFILES 100000

struct shared {
	volatile int stop;
	volatile long verified[64], bad[64], misses[64];
	char why[64][640];
	volatile int last_round[MAXFILES];	/* written by the owning writer */
};

static size_t file_size(unsigned i, unsigned r)
{
	uint64_t x = t_mix(((uint64_t)i << 20) ^ r);

	/* Half small (64 B - 64 KiB), half large (64 KiB - 1 MiB). */
	return x & 1 ? T_SELF_HDR + (x >> 8) % (64 << 10) : (64 << 10) + (x >> 8) % (MAXSZ - (64 << 10));
}

static int writer(const char *dir, unsigned w, unsigned nw, unsigned nfiles, unsigned rounds,
		  struct shared *sh)
{
	unsigned char *buf = malloc(MAXSZ);
	char tmp[4200], final[4200];

	for (unsigned r = 1; r <= rounds; r++) {
		for (unsigned i = w; i < nfiles; i += nw) {
			size_t size = file_size(i, r), off = 0;
			int fd;

			/* A payload stream of its own for every (file, round):
			 * seeds stay below 2^32 (main() bounds rounds). */
			t_self_make(buf, size, i, r, (uint64_t)r * MAXFILES + i);
			snprintf(tmp, sizeof(tmp), "%s/.tmp.%u.%u", dir, w, i);
			snprintf(final, sizeof(final), "%s/f%u", dir, i);
			fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
			if (fd < 0) {
				fprintf(stderr, "writer %u: create %s: %s\n", w, tmp, strerror(errno));
				return 1;
			}
			while (off < size) {
				/* Pieces of up to 256 KiB, as stdio-ish engines write. */
				size_t len = size - off > (256u << 10) ? 256u << 10 : size - off;
				ssize_t n = write(fd, buf + off, len);

				if (n <= 0) {
					fprintf(stderr, "writer %u: write %s: %s\n", w, tmp, strerror(errno));
					return 1;
				}
				off += (size_t)n;
			}
			if (close(fd) < 0 || rename(tmp, final) < 0) {
				fprintf(stderr, "writer %u: close/rename %s: %s\n", w, final, strerror(errno));
				return 1;
			}
			sh->last_round[i] = (int)r;
		}
	}
	free(buf);
	return 0;
}

static void reader(const char *dir, unsigned id, unsigned nfiles, struct shared *sh)
{
	unsigned char *buf = malloc(MAXSZ + 1);
	unsigned *seen = calloc(nfiles, sizeof(*seen));
	char path[4200];
	int last_pass = 0;

	/* Loop until the writers are done, then one more full pass. */
	while (!last_pass) {
		DIR *d = opendir(dir);
		struct dirent *de;

		last_pass = sh->stop;
		if (!d) {
			snprintf(sh->why[id], sizeof(sh->why[id]), "opendir: %s", strerror(errno));
			sh->bad[id]++;
			break;
		}
		while ((de = readdir(d))) {
			unsigned i;
			uint64_t round;
			struct stat st;
			const char *why;
			ssize_t n;
			char *end;
			int fd;

			if (de->d_name[0] != 'f')
				continue;
			i = (unsigned)strtoul(de->d_name + 1, &end, 10);
			if (*end || i >= nfiles) {
				snprintf(sh->why[id], sizeof(sh->why[id]), "unexpected name %s",
					 de->d_name);
				sh->bad[id]++;
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				/* Listed, then gone: never, since names are only replaced. */
				snprintf(sh->why[id], sizeof(sh->why[id]), "open %s after readdir listed it: %s",
					 de->d_name, strerror(errno));
				sh->bad[id]++;
				continue;
			}
			if (fstat(fd, &st) < 0 || st.st_size > MAXSZ) {
				snprintf(sh->why[id], sizeof(sh->why[id]), "fstat %s: size %lld",
					 de->d_name, (long long)st.st_size);
				sh->bad[id]++;
				close(fd);
				continue;
			}
			n = read(fd, buf, (size_t)st.st_size);
			close(fd);
			if (n != st.st_size) {
				snprintf(sh->why[id], sizeof(sh->why[id]),
					 "%s: one read() of %lld bytes returned %zd", de->d_name,
					 (long long)st.st_size, n);
				sh->bad[id]++;
				continue;
			}
			why = t_self_check(buf, (size_t)n, i, &round);
			if (!why && round < seen[i])
				why = "an older round after a newer one";
			if (why) {
				snprintf(sh->why[id], sizeof(sh->why[id]), "%s (%zd bytes): %s",
					 de->d_name, n, why);
				sh->bad[id]++;
				continue;
			}
			seen[i] = round;
			sh->verified[id]++;
		}
		closedir(d);
	}
	free(buf);
	free(seen);
}

int main(int argc, char **argv)
{
	struct shared *sh;
	unsigned nfiles, nw, nr, rounds, fails = 0;
	long verified = 0, bad = 0;
	unsigned char *buf;
	pid_t pids[64];
	const char *dir;
	int st;

	if (argc < 6) {
		fprintf(stderr, "usage: stress DIR NFILES NWRITERS NREADERS ROUNDS\n");
		return 2;
	}
	dir = argv[1];
	nfiles = (unsigned)atoi(argv[2]);
	nw = (unsigned)atoi(argv[3]);
	nr = (unsigned)atoi(argv[4]);
	rounds = (unsigned)atoi(argv[5]);
	if (!nfiles || nfiles > MAXFILES || !nw || !nr || nw + nr > 64 || !rounds ||
	    rounds >= UINT32_MAX / MAXFILES) {
		fprintf(stderr, "stress: bad arguments\n");
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned k = 0; k < nr; k++) {
		pids[nw + k] = fork();
		if (pids[nw + k] == 0) {
			reader(dir, k, nfiles, sh);
			_exit(0);
		}
	}
	for (unsigned w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			_exit(writer(dir, w, nw, nfiles, rounds, sh));
	}
	for (unsigned w = 0; w < nw; w++) {
		waitpid(pids[w], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("FAIL: writer %u exited with status %d\n", w, st);
			fails++;
		}
	}
	sh->stop = 1;
	for (unsigned k = 0; k < nr; k++) {
		waitpid(pids[nw + k], &st, 0);
		verified += sh->verified[k];
		bad += sh->bad[k];
		if (sh->bad[k])
			printf("FAIL: reader %u: %ld bad reads; last: %s\n", k, sh->bad[k], sh->why[k]);
	}
	printf("readers verified %ld files, %ld bad\n", verified, bad);

	/* Every file present with the last round's content. */
	buf = malloc(MAXSZ + 1);
	for (unsigned i = 0; i < nfiles; i++) {
		char path[4200];
		uint64_t round = 0;
		const char *why = NULL;
		ssize_t n = -1;
		int fd;

		snprintf(path, sizeof(path), "%s/f%u", dir, i);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, buf, MAXSZ + 1);
			close(fd);
		}
		if (fd < 0)
			why = strerror(errno);
		else if (n < 0)
			why = "read failed";
		else if (!(why = t_self_check(buf, (size_t)n, i, &round)) && round != rounds)
			why = "not the last round";
		if (why) {
			printf("FAIL: final check of f%u: %s (round %llu of %u, %zd bytes)\n", i,
			       why, (unsigned long long)round, rounds, n);
			fails++;
		}
	}
	free(buf);
	if (fails == 0)
		printf("all %u files present with round %u content\n", nfiles, rounds);
	return bad || fails ? 1 : 0;
}
