/* ntfsput: write files into an NTFS volume image with libntfs-3g, without mounting it
 * (no FUSE, no root). Used only by tests/images/build.sh to make the test images.
 *
 *   ntfsput VOLUME copy SRC_DIR            copy a host folder tree into the volume root
 *   ntfsput VOLUME frag SRC_FILE DEST      write DEST in 4 KiB pieces interleaved with a
 *                                          filler file in the same folder (fragmented)
 *   ntfsput VOLUME compress SRC_FILE DEST  write DEST NTFS-compressed (LZNT1)
 *   ntfsput VOLUME put SRC_FILE DEST       write one file
 *   ntfsput VOLUME rm DEST                 delete a file (its MFT record becomes free)
 *   ntfsput VOLUME dosname DEST SHORT      give DEST a separate DOS 8.3 name, as Windows does
 *                                          (the index then holds a Win32 and a DOS entry)
 *   ntfsput VOLUME reparse DEST TAG dir|file [offline] [wof]
 *                                          make DEST (a folder or file, created if missing)
 *                                          a reparse point with TAG (hex): symbolic links
 *                                          (A000000C) and junctions (A0000003) get a print
 *                                          name "C:\WINNT"; other Microsoft tags (bit 31) a
 *                                          short body; other tags a GUID body. "offline" sets
 *                                          FILE_ATTRIBUTE_OFFLINE and RECALL_ON_DATA_ACCESS (a
 *                                          cloud file not downloaded); "wof" adds a
 *                                          WofCompressedData stream
 *   ntfsput VOLUME gen DIRS FILES          make DIRS folders /tree/dNNN/dMMM holding FILES
 *                                          small files each (bench/images.sh)
 *   ntfsput VOLUME putu SRC_FILE PARENT UNITS NAME
 *                                          write NAME into a folder of PARENT whose name is the
 *                                          UTF-16 code units UNITS (hex, comma-separated, e.g.
 *                                          58,d800: unpaired surrogates allowed, as NTFS does;
 *                                          tests/hostile_sources.rs)
 *
 * DEST is an absolute path inside the volume; its folders are created as needed.
 * Licence: GPL-3.0-or-later, as kbscan; libntfs-3g is GPL-2.0-or-later.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static ntfs_volume *vol;

static void die(const char *what, const char *name) {
	fprintf(stderr, "ntfsput: %s %s: %s\n", what, name, strerror(errno));
	exit(1);
}

/* The child NAME of DIR, created (as a folder or file) when missing. */
static ntfs_inode *child(ntfs_inode *dir, const char *name, mode_t type, int compressed) {
	ntfschar *u = NULL;
	int len = ntfs_mbstoucs(name, &u);
	if (len < 0) die("name", name);
	u64 mref = ntfs_inode_lookup_by_name(dir, u, len);
	ntfs_inode *ni;
	if (mref != (u64)-1) {
		ni = ntfs_inode_open(vol, MREF(mref));
	} else {
		if (compressed) {
			dir->flags |= FILE_ATTR_COMPRESSED;
		}
		ni = ntfs_create(dir, const_cpu_to_le32(0), u, len, type);
		if (compressed) {
			dir->flags &= ~FILE_ATTR_COMPRESSED;
		}
	}
	free(u);
	if (!ni) die("create", name);
	return ni;
}

/* Opens (creating folders) the parent of PATH; returns it and sets *base. */
static ntfs_inode *parent_of(const char *path, const char **base) {
	char *p = strdup(path);
	ntfs_inode *dir = ntfs_inode_open(vol, FILE_root);
	char *save = NULL, *tok = strtok_r(p, "/", &save);
	const char *last = strrchr(path, '/');
	*base = last ? last + 1 : path;
	while (tok && (tok + strlen(tok)) < (p + (*base - path))) {
		ntfs_inode *d = child(dir, tok, S_IFDIR, 0);
		/* Close while the parent is open, so the parent's index is updated once. */
		ntfs_inode *up = dir;
		dir = d;
		ntfs_inode_close(up);
		tok = strtok_r(NULL, "/", &save);
	}
	free(p);
	return dir;
}

static char *slurp(const char *src, size_t *len) {
	FILE *f = fopen(src, "rb");
	if (!f) die("open", src);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(*len ? *len : 1);
	if (*len && fread(buf, 1, *len, f) != *len) die("read", src);
	fclose(f);
	return buf;
}

static void write_at(ntfs_inode *ni, s64 pos, const char *buf, s64 n, const char *name) {
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) die("open data of", name);
	s64 done = 0;
	while (done < n) {
		s64 chunk = n - done < (1 << 20) ? n - done : (1 << 20);
		s64 w = ntfs_attr_pwrite(na, pos + done, chunk, buf + done);
		if (w <= 0) die("write", name);
		done += w;
	}
	ntfs_attr_close(na);
}

static void put(const char *src, const char *dest, int compressed) {
	const char *base;
	size_t len;
	char *buf = slurp(src, &len);
	ntfs_inode *dir = parent_of(dest, &base);
	ntfs_inode *ni = child(dir, base, S_IFREG, compressed);
	write_at(ni, 0, buf, len, dest);
	ntfs_inode_close_in_dir(ni, dir);
	ntfs_inode_close(dir);
	free(buf);
}

static void frag(const char *src, const char *dest) {
	const char *base;
	size_t len;
	char *buf = slurp(src, &len);
	char filler[4096];
	memset(filler, 0x5a, sizeof filler);
	ntfs_inode *dir = parent_of(dest, &base);
	ntfs_inode *ni = child(dir, base, S_IFREG, 0);
	ntfs_inode *fill = child(dir, "filler.bin", S_IFREG, 0);
	for (size_t off = 0; off < len; off += 4096) {
		size_t n = len - off < 4096 ? len - off : 4096;
		write_at(ni, off, buf + off, n, dest);
		write_at(fill, off, filler, 4096, "filler.bin");
	}
	ntfs_inode_close_in_dir(fill, dir);
	ntfs_inode_close_in_dir(ni, dir);
	ntfs_inode_close(dir);
	free(buf);
}

static void rm(const char *dest) {
	const char *base;
	ntfs_inode *dir = parent_of(dest, &base);
	ntfschar *u = NULL;
	int len = ntfs_mbstoucs(base, &u);
	u64 mref = ntfs_inode_lookup_by_name(dir, u, len);
	if (mref == (u64)-1) die("find", dest);
	ntfs_inode *ni = ntfs_inode_open(vol, MREF(mref));
	if (!ni || ntfs_delete(vol, dest, ni, dir, u, len)) die("delete", dest);
	free(u);
}

static void dosname(const char *dest, const char *shortname) {
	const char *base;
	ntfs_inode *dir = parent_of(dest, &base);
	ntfs_inode *ni = child(dir, base, S_IFREG, 0);
	/* Closes both inodes. */
	if (ntfs_set_ntfs_dos_name(ni, dir, shortname, strlen(shortname), 0)) die("dos name", dest);
}

static void copy_tree(const char *src, const char *dest) {
	DIR *d = opendir(src);
	if (!d) die("opendir", src);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		char *s, *t;
		if (asprintf(&s, "%s/%s", src, e->d_name) < 0 || asprintf(&t, "%s/%s", dest, e->d_name) < 0) exit(1);
		struct stat st;
		if (lstat(s, &st)) die("stat", s);
		if (S_ISDIR(st.st_mode)) {
			const char *base;
			ntfs_inode *dir = parent_of(t, &base);
			ntfs_inode_close_in_dir(child(dir, base, S_IFDIR, 0), dir);
			ntfs_inode_close(dir);
			copy_tree(s, t);
		} else if (S_ISREG(st.st_mode)) {
			put(s, t, 0);
		}
		free(s);
		free(t);
	}
	closedir(d);
}

static void gen(int dirs, int files) {
	char name[64], data[64];
	ntfs_inode *root = ntfs_inode_open(vol, FILE_root);
	ntfs_inode *tree = child(root, "tree", S_IFDIR, 0);
	ntfs_inode_close_in_dir(tree, root);
	ntfs_inode_close(root);
	for (int d = 0; d < dirs; d++) {
		snprintf(name, sizeof name, "/tree/d%03d/d%05d/x", d / 100, d);
		const char *base;
		ntfs_inode *dir = parent_of(name, &base);
		for (int f = 0; f < files; f++) {
			snprintf(name, sizeof name, "file%05d_%s.dll", f, (f % 7) ? "lib" : "Program Files");
			ntfs_inode *ni = child(dir, name, S_IFREG, 0);
			int n = snprintf(data, sizeof data, "kbscan bench %d/%d\n", d, f);
			write_at(ni, 0, data, n, name);
			ntfs_inode_close_in_dir(ni, dir);
		}
		ntfs_inode_close(dir);
	}
}

/* PARENT/<UNITS>/NAME from SRC: the folder named by raw UTF-16 code units (no conversion). */
static void put_units(const char *src, const char *parent, const char *units, const char *name) {
	ntfschar u[256];
	int len = 0;
	for (const char *p = units; *p && len < 256; len++) {
		char *end;
		u[len] = cpu_to_le16((u16)strtoul(p, &end, 16));
		p = *end == ',' ? end + 1 : end;
	}
	const char *base;
	char *slash;
	if (asprintf(&slash, "%s/x", parent) < 0) exit(1);
	ntfs_inode *up = parent_of(slash, &base);
	free(slash);
	u64 mref = ntfs_inode_lookup_by_name(up, u, len);
	ntfs_inode *dir = mref != (u64)-1 ? ntfs_inode_open(vol, MREF(mref))
		: ntfs_create(up, const_cpu_to_le32(0), u, len, S_IFDIR);
	if (!dir) die("create folder in", parent);
	size_t n;
	char *buf = slurp(src, &n);
	ntfs_inode *ni = child(dir, name, S_IFREG, 0);
	write_at(ni, 0, buf, n, name);
	ntfs_inode_close_in_dir(ni, dir);
	ntfs_inode_close_in_dir(dir, up);
	ntfs_inode_close(up);
	free(buf);
}

/* Little-endian stores into a byte buffer. */
static void put16(unsigned char *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(unsigned char *p, unsigned long v) { put16(p, v & 0xffff); put16(p + 2, (v >> 16) & 0xffff); }

static void reparse(const char *dest, const char *taghex, const char *what, int offline, int wof) {
	unsigned long tag = strtoul(taghex, NULL, 16);
	unsigned char buf[256];
	memset(buf, 0, sizeof buf);
	size_t len;
	put32(buf, tag);
	if (tag == 0xA000000CUL || tag == 0xA0000003UL) {
		/* Substitute name \??\C:\WINNT, print name C:\WINNT (UTF-16LE). */
		const char *sub = "\\??\\C:\\WINNT", *print = "C:\\WINNT";
		size_t hdr = tag == 0xA000000CUL ? 20 : 16, sl = strlen(sub) * 2, pl = strlen(print) * 2;
		unsigned char *pb = buf + hdr;
		for (size_t i = 0; i < strlen(sub); i++) put16(pb + 2 * i, (unsigned char)sub[i]);
		for (size_t i = 0; i < strlen(print); i++) put16(pb + sl + 2 * i, (unsigned char)print[i]);
		put16(buf + 8, 0);
		put16(buf + 10, sl);
		put16(buf + 12, sl);
		put16(buf + 14, pl);
		if (tag == 0xA000000CUL) put32(buf + 16, 0); /* absolute link */
		len = hdr + sl + pl;
	} else if (tag & 0x80000000UL) {
		memcpy(buf + 8, "kbscantestdata!!", 16);
		len = 8 + 16;
	} else {
		memcpy(buf + 8, "KBSCAN-GUID-0001", 16); /* the GUID */
		memcpy(buf + 24, "vendor data 1234", 16);
		len = 24 + 16;
	}
	put16(buf + 4, len - 8 - ((tag & 0x80000000UL) ? 0 : 16));
	const char *base;
	ntfs_inode *dir = parent_of(dest, &base);
	ntfs_inode *ni = child(dir, base, !strcmp(what, "dir") ? S_IFDIR : S_IFREG, 0);
	if (ntfs_set_ntfs_reparse_data(ni, (const char *)buf, len, 0)) die("set reparse data of", dest);
	if (offline) ni->flags |= FILE_ATTR_OFFLINE | const_cpu_to_le32(0x00400000);
	if (wof) {
		ntfschar *u = NULL;
		int ul = ntfs_mbstoucs("WofCompressedData", &u);
		if (ntfs_attr_add(ni, AT_DATA, u, ul, NULL, 0)) die("add WofCompressedData to", dest);
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, u, ul);
		if (!na || ntfs_attr_pwrite(na, 0, 16, "XPRESS4K-chunks!") != 16) die("write WofCompressedData of", dest);
		ntfs_attr_close(na);
		free(u);
	}
	NInoFileNameSetDirty(ni);
	ntfs_inode_close_in_dir(ni, dir);
	ntfs_inode_close(dir);
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: ntfsput VOLUME copy|frag|compress|put|rm ARGS\n");
		return 2;
	}
	vol = ntfs_mount(argv[1], 0);
	if (!vol) die("mount", argv[1]);
	const char *cmd = argv[2];
	if (!strcmp(cmd, "copy")) copy_tree(argv[3], "");
	else if (!strcmp(cmd, "rm")) rm(argv[3]);
	else if (argc < 5) { fprintf(stderr, "ntfsput: missing DEST\n"); return 2; }
	else if (!strcmp(cmd, "dosname")) dosname(argv[3], argv[4]);
	else if (!strcmp(cmd, "gen")) gen(atoi(argv[3]), atoi(argv[4]));
	else if (!strcmp(cmd, "reparse") && argc >= 6) {
		int offline = 0, wof = 0;
		for (int i = 6; i < argc; i++) {
			offline |= !strcmp(argv[i], "offline");
			wof |= !strcmp(argv[i], "wof");
		}
		reparse(argv[3], argv[4], argv[5], offline, wof);
	}
	else if (!strcmp(cmd, "putu") && argc >= 7) put_units(argv[3], argv[4], argv[5], argv[6]);
	else if (!strcmp(cmd, "frag")) frag(argv[3], argv[4]);
	else if (!strcmp(cmd, "compress")) put(argv[3], argv[4], 1);
	else if (!strcmp(cmd, "put")) put(argv[3], argv[4], 0);
	else { fprintf(stderr, "ntfsput: unknown command %s\n", cmd); return 2; }
	if (ntfs_umount(vol, FALSE)) die("unmount", argv[1]);
	return 0;
}
