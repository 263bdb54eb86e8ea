"""The ``lamina`` command: ``demo``, ``inspect FILE``, ``check FILE``, ``export FILE OUT`` and
``convert KERAS_FILE OUT``.

Each subcommand is an ``argparse`` sub-parser with a ``run(args) -> int`` function set as
its default ``handler``; adding one is a parser and a function.
"""

from __future__ import annotations

import argparse
import sys

from lamina.errors import LaminaError, LoadError
from lamina.export import export_model, onnx_difference
from lamina.saving import load_model
from lamina.saving.inspection import check_file, describe_file, one_line, visible
from lamina.saving.keras_file import keras_file_kind
from lamina.saving.keras_inspection import check_keras_file, describe_keras_file
from lamina.saving.keras_read import read_keras


def _run_demo(args: argparse.Namespace) -> int:
    # Deferred: the demo imports scikit-learn, which no other command needs.
    from lamina import demo

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    result = demo.run(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                      plot_path=None if args.no_plot else args.plot,
                      save_path=None if args.no_save else args.save, verbose=verbose)
    return 0 if result["accuracy"] > 0 else 1


def _run_inspect(args: argparse.Namespace) -> int:
    describe = describe_keras_file if keras_file_kind(args.file) else describe_file
    try:
        print(describe(args.file))
    except LoadError as error:  # describe_file raises nothing else, whatever the file holds
        print(f"lamina: {visible(args.file)}: {one_line(error)}", file=sys.stderr)
        return 2
    return 0


def _run_check(args: argparse.Namespace) -> int:
    check = check_keras_file if keras_file_kind(args.file) else check_file
    ok, message = check(args.file)
    if ok:
        print(message)
        return 0
    print(f"lamina: {visible(args.file)}: {message}", file=sys.stderr)
    return 1


def _run_convert(args: argparse.Namespace) -> int:
    try:
        converted = read_keras(args.file, python_version=args.python_version)
    except LaminaError as error:
        print(f"lamina convert: {visible(args.file)}: {one_line(error)}", file=sys.stderr)
        return 2
    for function in converted.functions:
        print(function.describe())
    try:
        converted.model.save(args.output)
    except LaminaError as error:
        print(f"lamina convert: {one_line(error)}", file=sys.stderr)
        return 1
    version = converted.keras_version or "an unrecorded version"
    print(f"Wrote {args.output} from {args.file} (Keras {version}, "
          f"{len(converted.functions)} Lambda functions translated).")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    import importlib.util


    try:
        model = load_model(args.file, compile=False)
    except LoadError as error:
        print(f"lamina export: {error}", file=sys.stderr)
        return 2
    try:
        export_model(model, args.output, format=args.format, opset_version=args.opset)
        print(f"Wrote {args.output} ({args.format}) from {args.file}.")
        if args.format == "onnx" and importlib.util.find_spec("onnxruntime") is not None:
            difference = onnx_difference(model, args.output)
            print(f"onnxruntime vs lamina on 3 random samples: max abs difference "
                  f"{difference:.3g}")
    except LaminaError as error:
        print(f"lamina export: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lamina", description="lamina: Keras-style layers and models on PyTorch.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="train the Keras docs' antirectifier network on scikit-learn's digits",
        description="Train the Keras docs' antirectifier network on scikit-learn's bundled "
                    "digits, print the test accuracy, save and reload the model, and write "
                    "the training curves.")
    demo.add_argument("--epochs", type=int, default=15, help="default: 15")
    demo.add_argument("--batch-size", type=int, default=32, help="default: 32")
    demo.add_argument("--seed", type=int, default=0, help="default: 0")
    demo.add_argument("--plot", default="antirectifier_history.png",
                      help="training-curve PNG to write (default: %(default)s)")
    demo.add_argument("--no-plot", action="store_true", help="write no PNG")
    demo.add_argument("--save", default="antirectifier.lamina",
                      help="where to save the trained model (default: %(default)s)")
    demo.add_argument("--no-save", action="store_true", help="do not save the model")
    demo.add_argument("--verbose", choices=["auto", "0", "1", "2"], default="auto",
                      help="progress output: a bar per epoch (1), a line (2), none (0)")
    # The demo's matrices are small: one thread is as fast as two on an idle machine and
    # many times faster on a busy one, where threads wait for each other.
    demo.add_argument("--threads", type=int, default=1,
                      help="torch CPU threads, 0 for torch's choice (default: 1)")
    demo.set_defaults(handler=_run_demo)

    inspect = commands.add_parser(
        "inspect", help="describe a saved model without running anything from it",
        description="Print a saved model's layers and, for every Lambda at any depth "
                    "(inside wrappers, nested models and captured layers), what loading will "
                    "compile or call: the tier as the loader decides it, the exact code or "
                    "op, the arguments and the captured values; an entry the loader would "
                    "refuse is shown with the reason. Also the versions that wrote the file. "
                    "Nothing from the file is compiled or run. Exit code 2, with one line "
                    "saying why, when the file is missing, not a lamina file or malformed.")
    inspect.add_argument("file", help="a .lamina file, or a Keras .keras / .h5 file")
    inspect.set_defaults(handler=_run_inspect)

    check = commands.add_parser(
        "check", help="exit 0 if a saved model loads in safe mode, else 1 with the reason",
        description="Load the file in safe mode (every saved function validated, every "
                    "weight checked; nothing from the file runs) and report the outcome: exit "
                    "code 0, or 1 with one line saying why it does not load.")
    check.add_argument("file", help="a .lamina file, or a Keras .keras / .h5 file (converted "
                                    "in memory, weights included)")
    check.set_defaults(handler=_run_check)

    convert = commands.add_parser(
        "convert", help="convert a Keras .keras or .h5 model file, Lambda layers included",
        description="Read a Keras 3 archive (.keras) or an HDF5 model file (.h5, from "
                    "tf-keras, Keras 2 or Keras 3) without running anything from it, and save "
                    "it as OUTPUT (.lamina, or .keras for a Keras 3 archive). Each Lambda's "
                    "Python bytecode is translated into checked source: the command prints "
                    "the Python versions it matches and the source it became.")
    convert.add_argument("file", help="the Keras file")
    convert.add_argument("output", help="the file to write (.lamina or .keras)")
    convert.add_argument("--python-version", default=None,
                         help="the Python (e.g. 3.8) that wrote the Lambda bytecode, when "
                              "several versions read it differently (default: detect)")
    convert.set_defaults(handler=_run_convert)

    export = commands.add_parser(
        "export", help="write a saved model as ONNX or a torch.export program",
        description="Load a .lamina file in safe mode and write it for deployment: ONNX "
                    "(with a dynamic batch axis; checked against onnxruntime when it is "
                    "installed) or a torch.export program (.pt2), which is not a safe format "
                    "to load from untrusted sources.")
    export.add_argument("file", help="a .lamina file")
    export.add_argument("output", help="the file to write (.onnx or .pt2)")
    export.add_argument("--format", choices=["onnx", "torch"], default="onnx",
                        help="default: %(default)s")
    export.add_argument("--opset", type=int, default=None,
                        help="ONNX opset version (default: torch's)")
    export.set_defaults(handler=_run_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
