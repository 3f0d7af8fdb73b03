//! Batch-normalisation statistics recomputed for averaged weights.

use crate::layers::{Buffer, Context, Layer, Mode, Params};
use crate::tensor::Tensor;
use crate::train::Dataset;
use crate::Error;

/// Recomputes the running statistics of every batch-normalisation layer of `model` by
/// one pass over `data` in order, in batches of the model input's `B` samples (the
/// last batch partial): each layer's running mean and variance become the plain mean,
/// over the batches, of the batch means and unbiased batch variances (PyTorch:
/// `torch.optim.swa_utils.update_bn(loader, model)`, which sets `momentum=None` for the
/// pass). The parameters are unchanged.
///
/// Averaged weights were never trained as such, so the running statistics gathered
/// during training do not describe the activations they produce; call this after
/// [`Averaged::swap`](super::Averaged::swap) or [`Averaged::copy_to`](super::Averaged::copy_to)
/// and before evaluating. `input` and `cache` are the caller's scratch (the batch
/// being fed and the model's activations); the forward passes run in training mode,
/// with stochastic layers (dropout) drawing from seed 0. Each layer's
/// [`momentum`](crate::layers::BatchNorm::momentum) is unchanged afterwards, and its
/// [`cumulative`](crate::layers::BatchNorm::cumulative) mode is back to `None`.
/// Returns the number of batches.
///
/// # Errors
///
/// [`Error::Shape`] if the samples of `data` do not have as many values as a sample
/// of `X`; nothing is changed then.
///
/// # Examples
///
/// ```
/// use microtrain::average::update_bn;
/// use microtrain::layers::{BatchNorm, Dense, Layer};
/// use microtrain::train::Dataset;
/// use microtrain::{Batch, Zeroed};
/// type Net = (Dense<1, 1>, BatchNorm<1>);
/// let mut net: Net = (Dense::zeros(), BatchNorm::new());
/// net.0.weight.0 = [[1.0]];
/// // Two batches of two: means 1 and 5, unbiased variances 2 and 8.
/// let data = Dataset::new(&[0.0, 2.0, 3.0, 7.0], 1, &[0u32; 4], 1)?;
/// let mut input = Batch::<2, 1>::zeros();
/// let mut cache = <Net as Layer<Batch<2, 1>>>::Cache::ZERO;
/// assert_eq!(update_bn(&mut net, &data, &mut input, &mut cache)?, 2);
/// assert_eq!(net.1.running_mean.0, [3.0]);
/// assert_eq!(net.1.running_var.0, [5.0]);
/// assert_eq!((net.1.momentum, net.1.cumulative), (0.1, None));
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn update_bn<M, X, T>(
    model: &mut M,
    data: &Dataset<'_, T>,
    input: &mut X,
    cache: &mut M::Cache,
) -> Result<usize, Error>
where
    M: Layer<X>,
    X: Tensor,
{
    let batch = X::SAMPLES.max(1);
    let features = X::LEN / batch;
    if data.features() != features {
        return Err(Error::Shape {
            what: "features per sample",
            expected: features,
            found: data.features(),
        });
    }
    set_cumulative(model, Some(0));
    let mut ctx = Context::new(Mode::Train, 0);
    let mut batches = 0;
    let mut start = 0;
    while start < data.len() {
        let rows = batch.min(data.len() - start);
        for (r, sample) in input.as_mut_slice().chunks_exact_mut(features).enumerate() {
            if r < rows {
                sample.copy_from_slice(data.input(start + r));
            } else {
                sample.fill(0.0);
            }
        }
        ctx.rows = rows;
        model.forward(input, cache, &mut ctx);
        model.commit(cache);
        batches += 1;
        start += rows;
    }
    set_cumulative(model, None);
    Ok(batches)
}

/// Sets the averaging mode of every running estimate of `model`.
fn set_cumulative<M: Params>(model: &mut M, mode: Option<u32>) {
    model.visit_buffers(&mut |b: Buffer<'_>| {
        if let Some(c) = b.cumulative {
            *c = mode;
        }
    });
}
