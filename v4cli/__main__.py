from v4cli.cli.main import main

main()
