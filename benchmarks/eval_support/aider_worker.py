"""Runs INSIDE the aider venv (benchmarks/.data/aider-venv): aider's RepoMap for one question at some budgets.

Reads a JSON request on stdin, {"root", "question", "budgets", "model", "tags_cache"}, writes its answer as
the LAST line on stdout (aider may print warnings before it):
{"budgets": {"8000": {"files": {path: "outline" | "path"}, "lines": {path: n}, "tokens", "wall_s", "cpu_s"}},
 "scan": {"wall_s", "cpu_s"}}. It imports nothing from v4, and never the network (the caller checks).

As aider's Coder.get_repo_map does for a chat with no files added: mentioned file names and identifiers come
from the message (get_file_mentions, get_ident_mentions, get_ident_filename_matches, reproduced below
because they are Coder methods), every file git tracks is an "other" file, and get_ranked_tags_map builds the
map within map_tokens, counting with the model's own tokenizer. A file in the map with code lines is an
outline; a file listed by name alone is a path.
"""

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path


def _clock():
    t = os.times()
    return time.perf_counter(), t.user + t.system + t.children_user + t.children_system


def file_mentions(text, rel_fnames):
    """aider's Coder.get_file_mentions with no files in the chat."""
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in text.split()}
    mentioned, by_base = set(), defaultdict(list)
    for rel in rel_fnames:
        if rel in words:
            mentioned.add(rel)
        base = os.path.basename(rel)
        if "/" in base or "." in base or "_" in base or "-" in base:
            by_base[base].append(rel)
    for base, rels in by_base.items():
        if len(rels) == 1 and base in words:
            mentioned.add(rels[0])
    return mentioned


def ident_filename_matches(idents, rel_fnames):
    """aider's Coder.get_ident_filename_matches."""
    stems = defaultdict(set)
    for rel in rel_fnames:
        stem = Path(rel).stem.lower()
        if len(stem) >= 5:
            stems[stem].add(rel)
    found = set()
    for ident in idents:
        if len(ident) >= 5:
            found |= stems[ident.lower()]
    return found


def statuses(tree_text, rel_fnames):
    """(path -> "outline" (a header "path:" followed by code) or "path" (the name alone),
    path -> number of code lines the map shows for it: aider shows only the ranked definitions' lines)."""
    known, found, lines, current = set(rel_fnames), {}, {}, None
    for line in tree_text.splitlines():
        if line in known:
            found[line], current = "path", None
        elif line.endswith(":") and line[:-1] in known:
            current = line[:-1]
            found[current], lines[current] = "outline", 0
        elif current is not None and line.strip() and line.strip() != "⋮":
            lines[current] += 1
    return found, lines


def main():
    request = json.loads(sys.stdin.read())
    root, question = request["root"], request["question"]
    from aider.io import InputOutput
    from aider.models import Model
    from aider.repomap import RepoMap

    RepoMap.TAGS_CACHE_DIR = request["tags_cache"]  # absolute: kept out of the repository under evaluation

    listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    rel_fnames = [p for p in listing.decode().split("\0") if p and os.path.isfile(os.path.join(root, p))]
    abs_fnames = [os.path.join(root, p) for p in rel_fnames]
    idents = set(re.split(r"\W+", question))
    mentioned = file_mentions(question, rel_fnames) | ident_filename_matches(idents, rel_fnames)
    io = InputOutput(pretty=False, yes=True, fancy_input=False)
    model = Model(request["model"])
    out = {"budgets": {}, "model": model.name}
    wall0, cpu0 = _clock()
    for budget in request["budgets"]:
        wall, cpu = _clock()
        repo_map = RepoMap(map_tokens=budget, root=root, main_model=model, io=io, refresh="always")
        tree = repo_map.get_ranked_tags_map([], abs_fnames, budget, mentioned, idents) or ""
        w, c = _clock()
        files, lines = statuses(tree, rel_fnames)
        out["budgets"][str(budget)] = {"files": files, "lines": lines, "tokens": repo_map.token_count(tree),
                                       "wall_s": w - wall, "cpu_s": c - cpu}
    w, c = _clock()
    out["total"] = {"wall_s": w - wall0, "cpu_s": c - cpu0}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
