"""Evidence read from the kernel: why a matrix looks the way it does (firewall diffs so far)."""
