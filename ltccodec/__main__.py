"""`python -m ltccodec` runs the `ltc` command line."""

from ltccodec.cli import main

if __name__ == "__main__":
    main(prog_name="ltc")
