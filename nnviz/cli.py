"""Command line entry point (filled in below)."""
import sys


def main(argv=None) -> int:
    print("nnviz: the GUI is coming")
    return 0


if __name__ == "__main__":
    sys.exit(main())
