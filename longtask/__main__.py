from longtask.cli.app import main

main()
