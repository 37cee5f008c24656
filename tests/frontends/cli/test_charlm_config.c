/* The char-LM configuration string a CLI checkpoint carries in its metadata
 * (charlm_config_str / charlm_config_parse). The evaluation protocol itself
 * (rc_lm_eval) is the library's and is tested in tests/train/test_lm.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "charlm.h"

Test(charlm_config, round_trip_and_rejects) {
    charlm_config c = {.cell = CHARLM_GRU, .vocab = 300, .embed = 5, .units = 7, .layers = 3, .init = CHARLM_INIT_KERAS},
                  d;
    char s[256], msg[256];
    charlm_config_str(&c, s, sizeof s);
    cr_expect_str_eq(s, "cell=gru vocab=300 embed=5 units=7 layers=3 init=keras");
    cr_assert(charlm_config_parse(s, &d, msg, sizeof msg), "%s", msg);
    cr_expect(c.cell == d.cell && c.vocab == d.vocab && c.embed == d.embed && c.units == d.units &&
              c.layers == d.layers && c.init == d.init);
    cr_expect(!charlm_config_parse("cell=gru vocab=300 embed=5 units=7 layers=3 init=keras extra", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse("cell=cnn vocab=300 embed=5 units=7 layers=3 init=keras", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse("cell=gru vocab=300 embed=0 units=7 layers=3 init=keras", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse(NULL, &d, msg, sizeof msg));
}
