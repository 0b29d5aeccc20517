#!/usr/bin/env python3
"""Drop-in for amazon_kclpy's samples/amazon_kclpy_helper.py, for launch scripts that run

    `amazon_kclpy_helper.py --print_command --java /usr/bin/java --properties app.properties`

and execute what it prints. Put this file where the old helper was: it takes the same options and
prints the kcl-bridge command instead of a java one, so the launch script needs no other change.

  --print_command             print `kcl-bridge --properties-file P [--log-configuration L]`
  --print_classpath           print the directories the Java class path would have had (the -c
                              paths and the properties file's directory); kcl-bridge needs none
  -j/--java PATH              accepted and ignored (no Java is run)
  -p/--properties/--props/--prop P   the properties file (required with --print_command)
  -c/--classpath/--path DIR   accepted (repeatable); only --print_classpath shows it
  -l/--log-configuration L    passed on (kcl-bridge accepts it and logs that it is ignored)
  --sample/--sample-props/--use-sample-properties   not supported: name the file with -p

The kcl-bridge binary is `kcl-bridge` on PATH unless the KCL_BRIDGE environment variable names
another.
"""
import argparse
import os
import shlex
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print_classpath", dest="print_classpath", action="store_true")
    parser.add_argument("--print_command", dest="print_command", action="store_true")
    parser.add_argument("-j", "--java", dest="java")
    parser.add_argument("-p", "--properties", "--props", "--prop", dest="properties")
    parser.add_argument("--sample", "--sample-props", "--use-sample-properties", dest="use_sample_props",
                        action="store_true")
    parser.add_argument("-c", "--classpath", "--path", dest="paths", action="append", default=[])
    parser.add_argument("-l", "--log-configuration", dest="log_configuration")
    args = parser.parse_args(argv)
    if args.use_sample_props:
        parser.error("--sample is not supported with kcl-bridge: name the properties file with -p")
    if args.print_classpath:
        dirs = list(args.paths)
        if args.properties:
            dirs.append(os.path.dirname(os.path.abspath(args.properties)))
        print(os.pathsep.join(dirs))
    elif args.print_command:
        if not args.properties:
            parser.error("--print_command needs --properties")
        command = [os.environ.get("KCL_BRIDGE", "kcl-bridge"), "--properties-file", args.properties]
        if args.log_configuration:
            command += ["--log-configuration", args.log_configuration]
        print(" ".join(shlex.quote(part) for part in command))
    else:
        parser.print_usage()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
