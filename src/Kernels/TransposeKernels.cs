using ILGPU;

namespace FashionGpu.Kernels;

public static class TransposeKernels
{
    /// <summary>
    /// output [Batch, Columns, Rows] from input [Batch, Rows, Columns]: each of Batch matrices transposed. The GPU path
    /// of a convolution turns dy [Batch, Out, P] into the rows [Batch·P, Out] of a matrix product, and the product's rows
    /// back into y [Batch, Out, P]. Launch: one thread per element.
    /// </summary>
    public static void Batched(Index1D i, ArrayView<float> input, ArrayView<float> output, int rows, int columns)
    {
        var row = i % rows;
        var column = (i / rows) % columns;
        var matrix = i / (rows * columns);
        output[i] = input[(matrix * rows + row) * columns + column];
    }
}
