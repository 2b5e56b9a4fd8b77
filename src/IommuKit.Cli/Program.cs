using IommuKit.Cli.Commands;

return CliApp.Run(args);
