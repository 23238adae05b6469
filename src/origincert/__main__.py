from origincert.cli.entry import run

run()
