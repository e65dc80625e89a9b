"""Refresh the Docker 28/29 reference rules the engine-profile golden tests compare against, from a
clone of moby/moby (facts moby documents about its own daemon; nothing of moby's code is used):

    python tests/data/moby/refresh.py /path/to/moby

- `iptables/<profile>/<case>.rules`: the "iptables commands" blocks (`iptables -S` of a real daemon) of
  `integration/network/bridge/iptablesdoc/generated/<case>.md`, one `*table` section per block shown;
- `nftables/<case>.nft`: `nft list table ip docker-bridges` golden files of the nftabler unit test
  (`daemon/libnetwork/drivers/bridge/internal/nftabler/testdata/TestNftabler/`), and `nftables6/<case>.nft`
  the same test's `ip6 docker-bridges` tables.
Each file starts with the tag, commit and path it was read from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
TAGS = {"28": "v28.5.2", "29": "docker-v29.7.2"}
ITD = "integration/network/bridge/iptablesdoc/generated"
CASES = [
    "new-daemon",
    "usernet-portmap",
    "usernet-portmap-noicc",
    "usernet-portmap-noproxy",
    "usernet-internal",
    "usernet-portmap-lo",
]
NFT_TAG = "docker-v29.7.2"
NFT_DIR = "daemon/libnetwork/drivers/bridge/internal/nftabler/testdata/TestNftabler"
NFT_CASES = [
    "cleaned,hairpin=false",
    *(
        f"hairpin={h},internal=false,icc={i},masq={m},snat=false,gwm=nat,bindlh=false"
        for h in ("false", "true")
        for i in ("false", "true")
        for m in ("false", "true")
    ),
    "hairpin=false,internal=true,icc=false",
    "hairpin=false,internal=true,icc=true",
    "hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=true",
]
#: the built-in chains of each table, by which a block's table is told apart
BUILTIN = {
    "raw": {"PREROUTING", "OUTPUT"},
    "filter": {"INPUT", "FORWARD", "OUTPUT"},
    "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
}


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def blocks(markdown: str) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] | None = None
    for line in markdown.splitlines():
        if "<summary>iptables commands" in line:
            current = []
        elif "</details>" in line and current is not None:
            out.append(current)
            current = None
        elif current is not None and line.strip().startswith("-"):
            current.append(line.strip())
    return out


def table_of(block: list[str]) -> str:
    policies = {line.split()[1] for line in block if line.startswith("-P ")}
    return next(name for name, chains in BUILTIN.items() if chains == policies)


def main(repo: str) -> None:
    for profile, tag in TAGS.items():
        commit = git(repo, "rev-parse", f"{tag}^{{commit}}").strip()
        for case in CASES:
            path = f"{ITD}/{case}.md"
            text = [f"# moby/moby {tag} ({commit}) {path}"]
            for block in blocks(git(repo, "show", f"{tag}:{path}")):
                text += [f"*{table_of(block)}", *block]
            target = HERE / "iptables" / profile / f"{case}.rules"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(text) + "\n")
    commit = git(repo, "rev-parse", f"{NFT_TAG}^{{commit}}").strip()
    for case in NFT_CASES:
        for family, folder in (("ip", "nftables"), ("ip6", "nftables6")):
            path = f"{NFT_DIR}/{case}__{family}.golden"
            target = HERE / folder / f"{case}.nft"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"# moby/moby {NFT_TAG} ({commit}) {path}\n" + git(repo, "show", f"{NFT_TAG}:{path}"))


if __name__ == "__main__":
    main(sys.argv[1])
