-- GET one page over and over (the hello baseline and the letter page).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
