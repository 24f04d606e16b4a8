"""One module per `ebmlab` subcommand: add_parser(subparsers) and run(args) -> exit code."""
