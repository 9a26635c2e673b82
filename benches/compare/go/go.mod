module netpollcompare

go 1.19
