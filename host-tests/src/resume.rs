//! The training run that the checkpoint tests interrupt and resume: a small classifier
//! with every kind of state a checkpoint must carry (batch normalisation's running
//! statistics, dropout's seed, an optimizer's moments and step count), the data-order
//! generator, a cosine schedule, reduce-on-plateau and early stopping.

use microtrain::checkpoint;
use microtrain::init::{init_params, Init};
use microtrain::layers::{BatchNorm, Dense, Dropout, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::Optimizer;
use microtrain::schedule::{Cosine, PlateauConfig, ReduceOnPlateau, Scheduler};
use microtrain::train::{Dataset, EarlyStopper, EarlyStopping, Trainer};
use microtrain::{seq, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Four features, three classes.
pub type Net = Seq![Dense<4, 8>, BatchNorm<8>, Relu, Dropout, Dense<8, 3>];
/// Trainable scalars of [`Net`].
pub const PARAMS: usize = <Net as Params>::COUNT;
/// The model's batch-norm statistics.
pub const BUFFERS: usize = <Net as Params>::BUFFERS;
/// [`Net`] with cross-entropy, batches of 4, optimizer `O`.
pub type Tr<O> = Trainer<Net, CrossEntropy, O, 4, 4, 3>;
/// Everything a run checkpoints, as borrowed parts.
pub type Parts<'a, O> = (
    &'a mut Tr<O>,
    &'a mut Pcg32,
    &'a mut Scheduler<Cosine>,
    &'a mut ReduceOnPlateau,
    &'a mut EarlyStopper<PARAMS, BUFFERS>,
);

/// Training samples (10: the last batch of an epoch is partial) and validation samples.
pub const TRAIN: usize = 10;
/// Validation samples.
pub const VALID: usize = 6;

/// `n` samples of three noisy clusters, features then labels.
pub fn samples(n: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = crate::Rng::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for s in 0..n {
        let class = s % 3;
        for f in 0..4 {
            let centre = if f % 3 == class { 1.0 } else { -0.5 };
            x.push(centre + rng.uniform(-0.6, 0.6));
        }
        y.push(class as u32);
    }
    (x, y)
}

/// A training run: trainer, generator, schedule, plateau and early stopping.
pub struct Run<O: Optimizer> {
    /// The trainer (boxed: it is large for a test thread's stack).
    pub trainer: Box<Tr<O>>,
    /// The data-order generator.
    pub rng: Pcg32,
    /// Cosine annealing over 30 epochs.
    pub scheduler: Scheduler<Cosine>,
    /// Reduce-on-plateau on the validation loss (applied after the schedule).
    pub plateau: ReduceOnPlateau,
    /// Early stopping on the validation loss.
    pub stopper: EarlyStopper<PARAMS, BUFFERS>,
}

impl<O: Optimizer + checkpoint::Persist> Run<O> {
    /// A fresh run: weights He-normal from `seed`, which also seeds the data order and
    /// dropout.
    pub fn new(optimizer: O, lr: f32, seed: u64) -> Self {
        let model = seq![
            Dense::zeros(),
            BatchNorm::new(),
            Relu,
            Dropout::new(0.25),
            Dense::zeros()
        ];
        let mut trainer = Box::new(Trainer::new(
            model,
            CrossEntropy::default(),
            optimizer,
            seed ^ 0xD0,
        ));
        let mut rng = Pcg32::seed_from_u64(seed);
        init_params(&mut trainer.model, Init::HeNormal, &mut rng);
        let scheduler = Scheduler::start(Cosine::new(lr, 30), &mut trainer.optimizer);
        let plateau_config = PlateauConfig {
            patience: 1,
            factor: 0.5,
            ..PlateauConfig::new()
        };
        Run {
            trainer,
            rng,
            scheduler,
            plateau: ReduceOnPlateau::new(plateau_config, lr),
            stopper: EarlyStopper::new(EarlyStopping::new().patience(4)),
        }
    }

    /// One epoch, then validation, early stopping, the schedule and the plateau;
    /// returns the bits of the epoch's training loss and of the validation loss.
    pub fn epoch(&mut self, train: &Dataset<'_, u32>, valid: &Dataset<'_, u32>) -> [u32; 2] {
        let t = &mut self.trainer;
        let risk = t.epoch(train, &mut self.rng).expect("the epoch trains");
        let val = t.evaluate(valid).expect("the validation set is valid").loss;
        self.stopper.update(val, &mut t.model);
        self.scheduler.step(&mut t.optimizer);
        self.plateau.step_optimizer(val, &mut t.optimizer);
        [risk.data.to_bits(), val.to_bits()]
    }

    /// The run as checkpoint parts.
    pub fn parts(&mut self) -> Parts<'_, O> {
        (
            &mut *self.trainer,
            &mut self.rng,
            &mut self.scheduler,
            &mut self.plateau,
            &mut self.stopper,
        )
    }

    /// A checkpoint of the whole run, exactly [`checkpoint::bytes`] long.
    pub fn checkpoint(&mut self) -> Vec<u8> {
        let mut buf = vec![0; checkpoint::bytes::<Parts<'_, O>>()];
        let n = checkpoint::save(&mut self.parts(), &mut buf).expect("the buffer fits");
        assert_eq!(n, buf.len(), "checkpoint::bytes is the length save writes");
        buf
    }
}
