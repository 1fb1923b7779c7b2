namespace FashionGpu.Runtime.Training;

public sealed class TrainingDivergedException(string message) : FashionGpuException(message);
