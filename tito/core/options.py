"""Command-line parameters every module-taking command shares, so they read the same everywhere."""
import typer

ModulesArg = typer.Argument(None, metavar="[MODULE]...", help="Modules by number, name or folder: 1, 01, tensor, 01_tensor.")
AllOpt = typer.Option(False, "--all", help="Every module, in order.")
