R=/work/wt-mpi/build/recur
cd /tmp/dw
date
/usr/bin/time -f "%e s" timeout 900 $R train --corpus fortunes --steps 200 --checkpoint one.safetensors > one.out 2>&1
date
/usr/bin/time -f "%e s" timeout 900 mpirun --allow-run-as-root --oversubscribe -np 2 $R train --corpus fortunes --steps 200 --checkpoint two.safetensors > two.out 2>&1
date
/work/wt-mpi/build/tests/ckpt_diff one.safetensors two.safetensors 1e-4 > diff.out
echo done
