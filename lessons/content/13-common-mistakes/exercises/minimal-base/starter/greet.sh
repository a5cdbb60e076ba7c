#!/bin/sh
# A tiny command-line tool: it only needs a POSIX shell and a few basic commands.
name="${1:-world}"
echo "Hello, $name! It is $(date -u +%H:%M) UTC and this container has $(nproc) CPU(s)."
