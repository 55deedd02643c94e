"""``python -m kgtext`` is the ``kgtext`` console script."""

from kgtext.cli import main

if __name__ == "__main__":
    main()
