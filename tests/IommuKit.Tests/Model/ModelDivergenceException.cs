namespace IommuKit.Tests.Model;

// The implementation and a reference model disagreed; the message names the step and both answers.
internal sealed class ModelDivergenceException(string message) : Exception(message);
