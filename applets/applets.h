/*
 * The one registry of applets, sorted by name: APPLET(name, usage).
 * An applet is applets/<name>.c exporting <name>_main.
 */
APPLET(listen, "[-q] [-c cert] [-k key] [-n maxconn] [-p peraddr] [-t idle] [-u user] [-l log] addr applet|program [arg...]")
