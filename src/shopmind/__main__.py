from shopmind.cli.app import main

main()
