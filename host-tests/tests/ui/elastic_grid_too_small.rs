// An elastic grid of one node is a translation, not a deformation: `Elastic<1>` must
// not compile. (Built in a static, which the compiler evaluates while checking; see
// group_norm_groups.rs.)
use microtrain::augment::Elastic;
use microtrain::Error;

static ELASTIC: Result<Elastic<1>, Error> = Elastic::<1>::new((0.0, 1.0), 0.0);

fn main() {
    let _ = ELASTIC;
}
