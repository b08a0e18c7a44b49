// SPDX-License-Identifier: GPL-2.0
/*
 * A flame graph of a stack set as one self-contained SVG: the comm at the
 * bottom, each stack's frames above it from the outermost up, each frame
 * as wide as the time below it. Every frame has a <title> (name, time,
 * share) that a browser shows on hover; no script, no external resource.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stacks.h"

#define WIDTH		1200
#define FRAME_HEIGHT	16
#define MARGIN		10
#define TITLE_HEIGHT	40
#define CHAR_WIDTH	7	/* of the 12 px monospace font, about */
#define MIN_WIDTH	0.1	/* px: narrower frames are left out */

struct node {
	const char *name;
	__u64 time_ns;
	struct node *children;	/* first child, then each one's next */
	struct node *next;
};

static struct node *child_of(struct node *parent, const char *name)
{
	struct node *child;

	for (child = parent->children; child; child = child->next)
		if (!strcmp(child->name, name))
			return child;
	child = calloc(1, sizeof(*child));
	if (!child)
		return NULL;
	child->name = name;
	child->next = parent->children;
	parent->children = child;
	return child;
}

static void free_tree(struct node *node)
{
	while (node) {
		struct node *next = node->next;

		free_tree(node->children);
		free(node);
		node = next;
	}
}

static unsigned int tree_depth(const struct node *node)
{
	unsigned int deepest = 0;

	for (const struct node *child = node->children; child; child = child->next) {
		unsigned int depth = tree_depth(child);

		if (depth > deepest)
			deepest = depth;
	}
	return deepest + 1;
}

static void put_escaped(FILE *out, const char *text, size_t max)
{
	for (size_t i = 0; text[i] && i < max; i++) {
		switch (text[i]) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(text[i], out);
		}
	}
}

/* Warm colours, the same for the same name in every graph. */
static void colour(const char *name, unsigned int *red, unsigned int *green, unsigned int *blue)
{
	unsigned int hash = 2166136261u;

	for (const char *c = name; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 16777619u;
	*red = 205 + hash % 50;
	*green = (hash >> 8) % 230;
	*blue = (hash >> 16) % 55;
}

static void put_frames(FILE *out, const struct node *node, double x, unsigned int level,
		       unsigned int height, double scale, __u64 total_ns)
{
	double width = node->time_ns * scale;
	double y = height - MARGIN - (level + 1) * FRAME_HEIGHT;
	unsigned int red, green, blue;
	size_t fits;

	if (width < MIN_WIDTH)
		return;
	colour(node->name, &red, &green, &blue);
	fputs("<g><title>", out);
	put_escaped(out, node->name, (size_t)-1);
	fprintf(out, " (%.3f ms, %.2f%%)</title>", node->time_ns / 1e6,
		total_ns ? 100.0 * node->time_ns / total_ns : 0);
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
		"fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>", x, y, width, FRAME_HEIGHT - 1, red, green, blue);
	fits = width > 3 * CHAR_WIDTH ? (size_t)(width / CHAR_WIDTH) - 1 : 0;
	if (fits) {
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + FRAME_HEIGHT - 4);
		put_escaped(out, node->name, strlen(node->name) > fits ? fits - 1 : fits);
		if (strlen(node->name) > fits)
			fputs("..", out);
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
	for (const struct node *child = node->children; child; child = child->next) {
		put_frames(out, child, x, level + 1, height, scale, total_ns);
		x += child->time_ns * scale;
	}
}

int stacks_write_svg(FILE *out, const struct stack_set *set, const char *title)
{
	struct node root = { .name = "all" };
	unsigned int height, depth;
	double scale;
	int err = 0;

	for (unsigned int i = 0; i < set->count; i++) {
		const struct stack_entry *entry = &set->entries[i];
		struct node *node = child_of(&root, entry->comm);

		for (unsigned int f = entry->depth; node && f-- > 0;) {
			node->time_ns += entry->time_ns;
			node = child_of(node, entry->frames[f]);
		}
		if (!node) {
			err = -ENOMEM;
			goto out;
		}
		node->time_ns += entry->time_ns;
		root.time_ns += entry->time_ns;
	}
	depth = tree_depth(&root);
	height = TITLE_HEIGHT + depth * FRAME_HEIGHT + 2 * MARGIN;
	scale = root.time_ns ? (double)(WIDTH - 2 * MARGIN) / root.time_ns : 0;
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%u\" viewBox=\"0 0 %d %u\">\n"
		"<style>text { font: 12px monospace; fill: #000; } "
		"rect:hover { stroke: #000; stroke-width: 0.5; }</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fdf6e3\"/>\n"
		"<text x=\"%d\" y=\"24\" style=\"font-size: 17px\">", WIDTH, height, WIDTH, height,
		MARGIN);
	put_escaped(out, title, (size_t)-1);
	fprintf(out, " (%.3f s%s)</text>\n", root.time_ns / 1e9,
		set->drops[KHIST_STACK_DROP_NO_STACK] || set->drops[KHIST_STACK_DROP_TABLE_FULL] ?
		", some switches dropped" : "");
	if (!root.time_ns)
		fprintf(out, "<text x=\"%d\" y=\"%d\">no stacks yet</text>\n", MARGIN,
			TITLE_HEIGHT + FRAME_HEIGHT);
	else
		put_frames(out, &root, MARGIN, 0, height, scale, root.time_ns);
	fputs("</svg>\n", out);
	if (ferror(out))
		err = -EIO;
out:
	free_tree(root.children);
	return err;
}
