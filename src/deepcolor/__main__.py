from deepcolor.cli.main import main

main()
