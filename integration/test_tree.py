"""A tree packed into a container (the seed's h5zip way: each file a gzip-9 uint8
dataset) reads back identical: `diff -r` is silent."""

from __future__ import annotations

from pathlib import Path

from mounting import run


def _diff(src, dst):
    return run(["diff", "-r", src, dst], timeout=600)


def test_packed_tree_round_trips(mounter, features):
    with mounter.mounted(features.tree_h5) as mnt:
        result = _diff(features.tree_src, mnt / features.tree_src.name)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        # The same tree through `cat`: sizes in stat agree with the bytes.
        for path in features.tree_src.rglob("*"):
            if path.is_file():
                inside = mnt / features.tree_src.name / path.relative_to(features.tree_src)
                assert inside.stat().st_size == path.stat().st_size, path


def test_corpus_tree_round_trips(mounter, corpus):
    """tree.h5 of the corpus against its source tree (a directory beside it named *tree*),
    found either at the mount's root or under a group named like the directory."""
    pairs = corpus.tree_pairs()
    assert pairs, f"the corpus in {corpus.root} has no tree.h5"
    for container, sources in pairs:
        assert sources, f"no source tree beside {container}"
        with mounter.mounted(container) as mnt:
            attempts = []
            for src in sources:
                for candidate in (mnt / src.name, Path(mnt.path)):
                    if not candidate.is_dir():
                        continue
                    result = _diff(src, candidate)
                    if (result.returncode, result.stdout, result.stderr) == (0, "", ""):
                        break
                    attempts.append(f"diff -r {src} {candidate}:\n{result.stdout[:2000]}{result.stderr[:500]}")
                else:
                    continue
                break
            else:
                raise AssertionError("no packed tree matched its source:\n" + "\n".join(attempts))
