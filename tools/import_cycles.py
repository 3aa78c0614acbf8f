"""Fail, naming them, on import cycles among bu_cdp and conftest_plugin modules.

Counts every import, those inside functions and under TYPE_CHECKING too (grimp reads the
source), so a cycle hidden in a function body is one as well: a module imports another that
leads back to it. Run: python tools/import_cycles.py
"""

from __future__ import annotations

import sys

import grimp

PACKAGES = ("bu_cdp", "conftest_plugin")


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """For every import that some chain leads back from, the shortest such cycle."""
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                start = min(range(len(back)), key=lambda i: back[i])
                found.add(back[start:] + back[:start])  # one spelling per cycle
    return sorted(found)


def main() -> int:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    found = cycles(graph)
    for cycle in found:
        print(f"import cycle: {' -> '.join((*cycle, cycle[0]))}")
    if found:
        return 1
    print(f"no import cycle among {len(graph.modules)} modules of {', '.join(PACKAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
